// Select2 (shipped by Flask-AppBuilder) in the page's language: its messages ("No results found",
// "Remove all items", ...) come from Simpul's catalogue through this tag's data-simpul-i18n, and
// the English placeholders FAB's ab.js hard-codes ("Select a State", "Select") give way to the
// translated one. Loaded after select2.min.js and before the page is ready, when ab.js and
// Simpul's scripts turn the selects into Select2 boxes.
(function ($, script) {
  "use strict";
  if (!$ || !$.fn.select2 || !script) { return; }
  var text = JSON.parse(script.getAttribute("data-simpul-i18n") || "{}");
  function fill(template, n) { return String(template).replace("{n}", n); }
  $.fn.select2.defaults.set("language", {
    errorLoading: function () { return text.errorLoading; },
    inputTooLong: function (args) { return fill(text.inputTooLong, args.input.length - args.maximum); },
    inputTooShort: function (args) { return fill(text.inputTooShort, args.minimum - args.input.length); },
    loadingMore: function () { return text.loadingMore; },
    maximumSelected: function (args) { return fill(text.maximumSelected, args.maximum); },
    noResults: function () { return text.noResults; },
    searching: function () { return text.searching; },
    removeAllItems: function () { return text.removeAllItems; },
    removeItem: function () { return text.removeItem; }
  });
  var ENGLISH_PLACEHOLDERS = {"Select a State": true, "Select": true};
  var select2 = $.fn.select2;
  $.fn.select2 = function (options) {
    if (options && typeof options === "object" && ENGLISH_PLACEHOLDERS[options.placeholder]) {
      options = $.extend({}, options, {placeholder: this.attr("data-placeholder") || text.placeholder});
    }
    return select2.apply(this, options === arguments[0] ? arguments : [options]);
  };
  $.extend($.fn.select2, select2);
}(window.jQuery, document.currentScript));
