"""Slider costs, side by side: a live callback (200 GD steps + redraw + JPEG + the <img alt> HTML)
and static frames (WebP, lossless).

    python benchmarks/slider.py

Target: live callback ≤ 20 ms median on a 2-D toy surface. Prints medians over many η.
"""
import statistics
import time

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

from lrcourse.toy import gd
from lrcourse.viz import frames as plots
from lrcourse.toy import surfaces
from lrcourse.viz import widgets


def median_ms(fn, etas):
    times = []
    for eta in etas:
        t0 = time.perf_counter()
        fn(eta)
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def main():
    etas = np.geomspace(0.005, 0.25, 60)
    rows = []
    for surf in (surfaces.Quadratic2D(), surfaces.Rosenbrock(), surfaces.Himmelblau()):
        grid = etas if surf.name != "Rosenbrock" else np.geomspace(1e-5, 3e-3, 60)
        traj = lambda eta, s=surf: gd.run(s, eta, steps=200)
        frame = plots.trajectory_frame(surf, traj, steps=200)
        renderer = widgets.BlitRenderer(frame)
        t_traj = median_ms(traj, grid)
        size = frame.fig.canvas.get_width_height()
        t_live = median_ms(lambda eta: widgets._live_html(renderer.jpeg(eta), size, f"η = {eta:.3g}"), grid)
        t_static = median_ms(renderer.webp, grid)
        # the naive way: redraw the whole persistent figure each time (no blitting)
        canvas = FigureCanvasAgg(frame.fig)
        for a in frame.animated:
            a.set_animated(False)
        def full(eta):
            frame.update(eta)
            canvas.draw()
        t_full = median_ms(full, grid[:20])
        kb = np.mean([len(renderer.webp(e)) for e in grid[:20]]) / 1e3
        rows.append((surf.name, t_traj, t_live, t_full, t_static, kb))
    print(f"{'surface':<28}{'trajectory':>12}{'live cb':>10}{'full draw':>11}{'static fr.':>12}{'KB/frame':>10}")
    for name, a, b, c, d, e in rows:
        print(f"{name:<28}{a:>10.2f}ms{b:>8.1f}ms{c:>9.1f}ms{d:>10.1f}ms{e:>10.1f}")
    worst = max(r[2] for r in rows)
    print(f"live callback (200 steps + blit + JPEG + HTML), worst median: {worst:.1f} ms  (target ≤ 20 ms)"
          f"  — blitting is {rows[0][3] / rows[0][2]:.1f}× faster than a full redraw")


if __name__ == "__main__":
    main()
