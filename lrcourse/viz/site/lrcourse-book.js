/* lrcourse: what the static book's pages need beyond the theme.
 *
 * 1. MathJax 2 shim. The ipywidgets HTML manager typesets widget labels with MathJax 2's
 *    `MathJax.Hub.Queue(["Typeset", MathJax.Hub, el])`; the site loads MathJax 3, which has no
 *    `Hub`, so every widget logged "Cannot read properties of undefined (reading 'Queue')".
 *    Whatever object becomes `window.MathJax` (the config, then MathJax 3 itself) gets a `Hub`
 *    whose `Queue` runs MathJax 3's `typesetPromise` on the element.
 * 2. Slider accessibility. The handle of every `.lr-slider` gets `aria-label` ("learning rate
 *    η") and `aria-valuetext` equal to the η readout shown (the widget's own is the grid index).
 * 3. Frames on demand. A slider's frames are files; the page fetches the one it shows, and on
 *    the reader's first touch of a slider (pointer, key, focus) prefetches the rest of that
 *    slider's frames, so dragging does not wait for the network.
 */
(function () {
  "use strict";

  /* 1. MathJax 2 shim ------------------------------------------------------------------- */
  var hub = {
    Queue: function () {
      for (var i = 0; i < arguments.length; i++) {
        var job = arguments[i];
        var mj = window.MathJax;
        if (Array.isArray(job) && job[0] === "Typeset" && job[2] && mj && typeof mj.typesetPromise === "function") {
          mj.typesetPromise([job[2]]).catch(function () {});
        }
      }
    }
  };
  function withHub(value) {
    if (value && typeof value === "object" && !Object.prototype.hasOwnProperty.call(value, "Hub")) {
      try {
        Object.defineProperty(value, "Hub", { value: hub, enumerable: false, configurable: true, writable: true });
      } catch (e) { /* a frozen object: leave it */ }
    }
    return value;
  }
  var mathjax = withHub(window.MathJax);
  try {
    Object.defineProperty(window, "MathJax", {
      configurable: true, enumerable: true,
      get: function () { return mathjax; },
      set: function (value) { mathjax = withHub(value); }
    });
  } catch (e) { /* defined non-configurably elsewhere */ }

  /* 2. Slider accessibility ------------------------------------------------------------- */
  function sync(box) {
    var handle = box.querySelector(".noUi-handle");
    var readout = box.querySelector(".lr-frame .lr-readout");
    if (!handle || !readout) { return; }
    var label = readout.getAttribute("data-aria-label") || "learning rate η";
    var text = readout.textContent.trim();
    if (handle.getAttribute("aria-label") !== label) { handle.setAttribute("aria-label", label); }
    if (handle.getAttribute("aria-valuetext") !== text) { handle.setAttribute("aria-valuetext", text); }
    var bar = box.querySelector(".noUi-target");
    if (bar && !bar.hasAttribute("aria-hidden")) { bar.setAttribute("aria-hidden", "false"); }
  }
  var pending = false;
  function syncAll() {
    pending = false;
    var boxes = document.querySelectorAll(".lr-slider");
    for (var i = 0; i < boxes.length; i++) { sync(boxes[i]); }
  }
  function schedule() {
    if (!pending) { pending = true; window.requestAnimationFrame(syncAll); }
  }

  /* 3. Frames on demand ----------------------------------------------------------------- */
  var state = null;
  var fetched = {};
  function widgetState() {
    if (state === null) {
      state = {};
      var script = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
      if (script) {
        try { state = JSON.parse(script.textContent).state || {}; } catch (e) { state = {}; }
      }
    }
    return state;
  }
  function prefetch(box) {
    var frame = box.querySelector(".lr-frame");
    var id = frame && frame.getAttribute("data-lr");
    if (!id || fetched[id]) { return; }
    fetched[id] = true;
    var source = frame.querySelector("source[media]");
    var narrow = source && window.matchMedia && window.matchMedia(source.getAttribute("media")).matches;
    var all = widgetState();
    var marker = 'data-lr="' + id + '"';
    Object.keys(all).forEach(function (key) {
      var model = all[key];
      var value = model && model.state && model.state.value;
      if (model.model_name !== "HTMLModel" || typeof value !== "string" || value.indexOf(marker) < 0) { return; }
      var found = (narrow && /srcset="([^"]+)"/.exec(value)) || /<img[^>]* src="([^"]+)"/.exec(value);
      if (found) { var img = new Image(); img.decoding = "async"; img.src = found[1]; }
    });
  }
  function onTouch(event) {
    var box = event.target && event.target.closest && event.target.closest(".lr-slider");
    if (box) { prefetch(box); }
  }
  ["pointerdown", "touchstart", "keydown", "focusin"].forEach(function (name) {
    document.addEventListener(name, onTouch, { capture: true, passive: true });
  });

  function start() {
    new MutationObserver(schedule).observe(document.body, {
      childList: true, subtree: true, characterData: true,
      attributes: true, attributeFilter: ["aria-valuetext", "aria-valuenow"]
    });
    schedule();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
