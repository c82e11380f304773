// The private roster, entirely in the browser. Names live in local storage (the `roster` store)
// and are put on screen here, in clientside callbacks; the only request that carries a name is
// the look-up (POST /dashboard/roster/lookup, names in the body), which answers pseudonyms.
(function () {
  "use strict";
  var LOOKUP = "/dashboard/roster/lookup";
  var CHUNK = 100;
  // The agent's rule for an engineer name: letters (accented too), spaces, hyphens, apostrophes.
  var NAME = /^[\p{L}\p{M}][\p{L}\p{M} '’-]{0,199}$/u;

  function noUpdate() {
    return window.dash_clientside.no_update;
  }

  function namesOf(roster) {
    return (roster && roster.names) || {};
  }

  function carriedQuery(search) {
    var params = new URLSearchParams(search || "");
    params.delete("status");
    return params.toString() ? "?" + params.toString() : "";
  }

  function historyLink(code, text, search) {
    // Markdown for the grid's markdown cells; names hold no markdown characters (NAME above).
    return "[" + text + "](/dashboard/engineers/" + encodeURIComponent(code) +
      carriedQuery(search) + ' "' + code + '")';
  }

  function display(code, roster) {
    return namesOf(roster)[code] || code;
  }

  function parseNames(text, fromFile) {
    var names = [];
    if (fromFile) {
      var parsed = window.Papa.parse(text, { skipEmptyLines: "greedy" });
      var rows = parsed.data || [];
      var column = 0;
      if (rows.length) {
        var header = rows[0].map(function (cell) { return String(cell).trim().toLowerCase(); });
        var named = header.indexOf("name") >= 0 ? header.indexOf("name") : header.indexOf("engineer");
        if (named >= 0) {
          column = named;
          rows = rows.slice(1);
        }
      }
      rows.forEach(function (row) { if (row.length > column) names.push(row[column]); });
    } else {
      names = String(text || "").split(/\r?\n/);
    }
    return names.map(function (name) { return String(name).trim().replace(/\s+/g, " "); })
      .filter(function (name) { return name.length > 0; });
  }

  function decodeUpload(contents) {
    var base64 = String(contents).split(",")[1] || "";
    var bytes = Uint8Array.from(atob(base64), function (c) { return c.charCodeAt(0); });
    return new TextDecoder("utf-8").decode(bytes).replace(/^\uFEFF/, "");
  }

  async function lookUp(names) {
    var answers = [];
    for (var start = 0; start < names.length; start += CHUNK) {
      var response = await fetch(LOOKUP, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ names: names.slice(start, start + CHUNK) }),
      });
      if (!response.ok) {
        var problem = await response.json().catch(function () { return {}; });
        throw new Error(problem.detail || "The look-up failed (" + response.status + ").");
      }
      answers = answers.concat((await response.json()).items);
    }
    return answers;
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    roster: {
      addNames: async function (clicks, contents, text, roster) {
        var trigger = (window.dash_clientside.callback_context.triggered[0] || {}).prop_id || "";
        var fromFile = trigger.indexOf("contents") >= 0;
        if (fromFile ? !contents : !clicks) return [noUpdate(), noUpdate(), noUpdate()];
        var names = parseNames(fromFile ? decodeUpload(contents) : text, fromFile);
        var known = {};
        Object.values(namesOf(roster)).forEach(function (name) { known[name.toLowerCase()] = 1; });
        var invalid = names.filter(function (name) { return !NAME.test(name); }).length;
        var fresh = [];
        names.forEach(function (name) {
          if (NAME.test(name) && !known[name.toLowerCase()]) {
            known[name.toLowerCase()] = 1;
            fresh.push(name);
          }
        });
        if (!fresh.length) {
          var why = invalid
            ? invalid + " line(s) are not names (letters, spaces, hyphens and apostrophes only)."
            : "No new names to add.";
          return [noUpdate(), why, noUpdate()];
        }
        var answers;
        try {
          answers = await lookUp(fresh);
        } catch (error) {
          return [noUpdate(), error.message, noUpdate()];
        }
        var updated = Object.assign({}, namesOf(roster));
        var added = 0;
        var failed = [];
        answers.forEach(function (answer, index) {
          if (answer.engineer_code) {
            updated[answer.engineer_code] = fresh[index];
            added += 1;
          } else {
            failed.push(fresh[index] + " (" + answer.error + ")");
          }
        });
        var status = "Added " + added + " name(s) to the roster in this browser.";
        if (failed.length) status += " Not added: " + failed.join("; ");
        if (invalid) status += " Skipped " + invalid + " line(s) that are not names.";
        return [{ names: updated }, status, failed.length ? noUpdate() : ""];
      },

      clear: function () {
        return [{ names: {} }, "Roster cleared: no names are left in this browser."];
      },

      rosterRows: function (roster) {
        var names = namesOf(roster);
        return Object.keys(names).sort(function (a, b) {
          return names[a].localeCompare(names[b]);
        }).map(function (code) { return { name: names[code], engineer_code: code }; });
      },

      engineerRows: function (rows, roster, search) {
        return (rows || []).map(function (row) {
          return Object.assign({}, row, {
            engineer: historyLink(row.engineer_code, display(row.engineer_code, roster), search),
          });
        });
      },

      findEngineer: async function (clicks, submits, name, search) {
        var typed = String(name || "").trim().replace(/\s+/g, " ");
        if (!typed) return [noUpdate(), "Type the engineer's name first."];
        var answers;
        try {
          answers = await lookUp([typed]);
        } catch (error) {
          return [noUpdate(), error.message];
        }
        var code = answers[0] && answers[0].engineer_code;
        if (!code) return [noUpdate(), (answers[0] && answers[0].error) || "Not found."];
        return ["/dashboard/engineers/" + encodeURIComponent(code) + carriedQuery(search), ""];
      },

      historyName: function (code, roster) {
        return [display(code || "", roster), code || ""];
      },

      alertRows: function (rows, roster, search) {
        return (rows || []).map(function (row) {
          var who = row.engineer_code ? display(row.engineer_code, roster) : row.subject;
          return Object.assign({}, row, {
            display: who,
            subject_link: row.engineer_code ? historyLink(row.engineer_code, who, search) : who,
          });
        });
      },

      alertSelection: function (selected) {
        var rows = selected || [];
        var ids = rows.map(function (row) {
          return { id: row.id, rule: row.rule, engineer_code: row.engineer_code, team: row.team };
        });
        if (!rows.length) return [ids, "", "", { display: "none" }];
        var last = rows[rows.length - 1];
        return [ids, last.rule + " — " + last.display, last.evidence, {}];
      },

      alertConfirmation: function (result, roster) {
        if (!result) return ["", ""];
        if (result.none) {
          return ["Select one or more alerts in the table first.", "alert alert-warning"];
        }
        function subject(item) {
          return item.rule + " — " + (item.engineer_code
            ? display(item.engineer_code, roster) : "team " + item.team);
        }
        var verb = result.status === "resolved" ? "Resolved" : "Acknowledged";
        var parts = [];
        if (result.done.length) {
          parts.push(verb + " " + result.done.length + " alert" +
            (result.done.length === 1 ? "" : "s") + ": " + result.done.map(subject).join("; ") + ".");
        }
        if (result.refused.length) {
          parts.push("Not changed: " + result.refused.map(function (item) {
            return subject(item) + " (" + item.reason + ")";
          }).join("; ") + ".");
        }
        var colour = result.refused.length ? "alert alert-warning" : "alert alert-success";
        return [parts.join(" "), colour];
      },
    },
  });
})();
