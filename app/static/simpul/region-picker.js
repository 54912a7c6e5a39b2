/* Cascading region pickers (kode wilayah): one select per level below the field's area.
   The text input keeps working without JavaScript; with it, it becomes hidden. */
(function ($) {
  "use strict";
  var LEVEL_NAMES = {1: "Provinsi", 2: "Kabupaten/Kota", 3: "Kecamatan", 4: "Desa/Kelurahan"};

  function levelOf(code) { return code ? code.split(".").length : 0; }

  function load(url, code) {
    return $.getJSON(url + encodeURIComponent(code)).then(function (body) { return body.result; });
  }

  function setup(box) {
    var $box = $(box);
    var root = $box.attr("data-root") || "";  // .data() would turn "63.09" into a number
    var target = parseInt($box.data("level"), 10);
    var url = $box.data("children-url");
    var path = $box.data("path") || [];
    var anyLevel = $box.attr("data-any-level") === "1";  // list filters: any level narrows the list
    var $input = $box.find(".simpul-region-code");
    $input.attr("type", "hidden");
    var selects = [];

    function fill($select, parent, chosen) {
      $select.empty().append($("<option>").val("").text("— " + $select.data("label") + " —"));
      if (parent === null) { $select.prop("disabled", true).trigger("change.select2"); return; }
      load(url, parent).then(function (rows) {
        rows.forEach(function (row) {
          $select.append($("<option>").val(row.code).text(row.name).prop("selected", row.code === chosen));
        });
        $select.prop("disabled", false).trigger("change.select2");
      });
    }

    for (var level = levelOf(root) + 1; level <= target; level++) {
      var $select = $("<select class='form-control simpul-region-level'>")
        .attr("data-level", level).data("label", LEVEL_NAMES[level]);
      $box.append($("<div class='simpul-region-step'>").append($select));
      $select.select2({width: "100%", placeholder: LEVEL_NAMES[level]});
      selects.push($select);
    }
    selects.forEach(function ($select, index) {
      $select.on("change", function () {
        var code = $select.val() || "";
        if (anyLevel) { $input.val(code || (index > 0 ? selects[index - 1].val() || "" : "")); }
        else if (index === selects.length - 1) { $input.val(code); }
        else { $input.val(""); }
        for (var next = index + 1; next < selects.length; next++) {
          fill(selects[next], next === index + 1 && code ? code : null, null);
        }
      });
    });
    var chosen = {};
    path.forEach(function (step) { chosen[levelOf(step.code)] = step.code; });
    selects.forEach(function ($select, index) {
      var level = levelOf(root) + 1 + index;
      var parent = index === 0 ? root : chosen[level - 1];
      fill($select, parent === undefined ? null : parent, chosen[level] || null);
    });
  }

  $(function () { $(".simpul-region").each(function () { setup(this); }); });
})(jQuery);
