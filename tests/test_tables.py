"""The prose formatters of lrcourse.viz.tables, against hand-worked values and statistics."""
import statistics

from lrcourse.viz import tables


def test_sci_writes_small_and_large_numbers_as_powers_of_ten():
    assert tables.sci(0.0026) == "2.6 × 10⁻³"
    assert tables.sci(12345.0) == "1.2 × 10⁴"
    assert tables.sci(3.3e-10, 3) == "3.30 × 10⁻¹⁰"
    assert tables.sci(0.5) == "0.5" and tables.sci(0) == "0"  # between 0.01 and 1000: as cell()


def test_mean_sd_is_the_mean_and_the_sample_sd():
    values = [0.91, 0.915, 0.93, 0.902]
    expected = f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"
    assert tables.mean_sd(values) == expected
    assert tables.mean_sd([1.0, 2.0, 3.0], digits=1) == "2.0 ± 1.0"
