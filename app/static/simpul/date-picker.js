// Date inputs as clerks write dates: dd-mm-yyyy, weeks starting on Monday, month and day names in
// the page's language (bootstrap-datepicker, shipped by Flask-AppBuilder, has no Indonesian).
(function ($) {
  "use strict";
  if (!$ || !$.fn.datepicker) { return; }
  $.fn.datepicker.dates.id = {
    days: ["Minggu", "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu"],
    daysShort: ["Min", "Sen", "Sel", "Rab", "Kam", "Jum", "Sab"],
    daysMin: ["Mg", "Sn", "Sl", "Rb", "Km", "Jm", "Sb"],
    months: ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
      "Oktober", "November", "Desember"],
    monthsShort: ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
    today: "Hari ini",
    clear: "Kosongkan",
    format: "dd-mm-yyyy",
    titleFormat: "MM yyyy",
    weekStart: 1
  };
  $(function () {
    $(".simpul-date").each(function () {
      var language = $(this).data("language") === "id" ? "id" : "en";
      // data-start-date / data-end-date (dd-mm-yyyy): only those days can be picked (a batch's days).
      $(this).datepicker({
        format: "dd-mm-yyyy", weekStart: 1, language: language, autoclose: true,
        todayHighlight: true, forceParse: false,
        startDate: $(this).data("start-date") || -Infinity, endDate: $(this).data("end-date") || Infinity
      });
    });
  });
}(window.jQuery));
