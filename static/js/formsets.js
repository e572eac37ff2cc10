// Adding and removing children and persons on the referral form (Django formsets).
//
// A new block is a copy of the <template> with "__prefix__" replaced by the next index, and
// TOTAL_FORMS counts it. Removing a block that came from the server checks its DELETE box and hides
// it (the server then ignores it); removing a block added on this page takes it out and renumbers
// the blocks added after it, so that the indexes stay without gaps.
(function () {
  "use strict";

  function setup(section) {
    var prefix = section.getAttribute("data-formset");
    var total = section.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
    var maxForms = section.querySelector("input[name='" + prefix + "-MAX_NUM_FORMS']");
    var container = section.querySelector("[data-formset-blocks]");
    var template = section.querySelector("template[data-formset-template]");
    var addButton = section.querySelector("[data-formset-add]");
    var status = section.querySelector("[data-formset-status]");

    function visibleBlocks() {
      return Array.prototype.filter.call(container.querySelectorAll("[data-formset-block]"), function (block) {
        return !block.hidden;
      });
    }

    function renumber() {
      visibleBlocks().forEach(function (block, index) {
        var number = block.querySelector("[data-formset-number]");
        if (number) {
          number.textContent = String(index + 1);
        }
      });
      if (maxForms) {
        addButton.disabled = parseInt(total.value, 10) >= parseInt(maxForms.value, 10);
      }
    }

    function enhance(block) {
      var checkbox = block.querySelector("[data-formset-delete]");
      var button = block.querySelector("[data-formset-remove]");
      if (checkbox && button) {
        checkbox.hidden = true;
        button.hidden = false;
        button.addEventListener("click", function () {
          remove(block);
        });
      }
    }

    // Rewrite "<prefix>-<from>-" to "<prefix>-<to>-" in the attributes that carry the index.
    function reindex(block, from, to) {
      var search = prefix + "-" + from + "-";
      var replacement = prefix + "-" + to + "-";
      var elements = [block].concat(Array.prototype.slice.call(block.querySelectorAll("*")));
      elements.forEach(function (element) {
        ["id", "name", "for", "aria-describedby"].forEach(function (attribute) {
          var value = element.getAttribute(attribute);
          if (value && value.indexOf(search) !== -1) {
            element.setAttribute(attribute, value.split(search).join(replacement));
          }
        });
      });
    }

    function indexOf(block) {
      var match = (block.id || "").match(new RegExp("^" + prefix + "-(\\d+)-block$"));
      return match ? parseInt(match[1], 10) : -1;
    }

    function remove(block) {
      if (block.hasAttribute("data-new")) {
        var removed = indexOf(block);
        block.parentNode.removeChild(block);
        var count = parseInt(total.value, 10);
        for (var index = removed + 1; index < count; index++) {
          var later = document.getElementById(prefix + "-" + index + "-block");
          if (later) {
            reindex(later, index, index - 1);
          }
        }
        total.value = String(count - 1);
      } else {
        var checkbox = block.querySelector("input[name$='-DELETE']");
        if (checkbox) {
          checkbox.checked = true;
        }
        block.hidden = true;
      }
      renumber();
      status.textContent = section.getAttribute("data-removed-message");
      addButton.focus();
    }

    function add() {
      var index = parseInt(total.value, 10);
      var html = template.innerHTML.split("__prefix__").join(String(index));
      var holder = document.createElement("div");
      holder.innerHTML = html.trim();
      var block = holder.firstElementChild;
      container.appendChild(block);
      total.value = String(index + 1);
      enhance(block);
      renumber();
      var first = block.querySelector("input:not([type='hidden']), select, textarea");
      if (first) {
        first.focus();
      }
    }

    Array.prototype.forEach.call(container.querySelectorAll("[data-formset-block]"), enhance);
    addButton.hidden = false;
    addButton.addEventListener("click", add);
    renumber();
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-formset]"), setup);
  });
})();
