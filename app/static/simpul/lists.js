/* List screens: the filter panel sends only the filters that are filled in (short, shareable
   addresses), and long selects (records of another form) get Select2's type-ahead. */
(function ($) {
  "use strict";
  if (!$) { return; }
  $(function () {
    var $form = $("#simpul-filter-form");
    if (!$form.length) { return; }
    $form.find("select.simpul-filter-select").each(function () {
      if (this.options.length > 8 && $.fn.select2) {
        $(this).select2({width: "100%"});
      }
    });
    $form.on("submit", function () {
      $form.find("input[name], select[name]").each(function () {
        if (!$.trim($(this).val() || "")) { $(this).prop("disabled", true); }
      });
    });
  });
}(window.jQuery));
