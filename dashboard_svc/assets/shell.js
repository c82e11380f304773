// The page shell's clientside callbacks: the navbar carries the filters to every page, and the
// filter bar shows only the filters the open page applies.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  shell: {
    navLinks: function (search, pathname, linkIds) {
      var params = new URLSearchParams(search || "");
      params.delete("status"); // the Alerts tab belongs to the Alerts page only
      var query = params.toString() ? "?" + params.toString() : "";
      var here = (pathname || "/").replace(/\/$/, "");
      var hrefs = linkIds.map(function (id) { return id.index + query; });
      var active = linkIds.map(function (id) {
        var path = id.index.replace(/\/$/, "");
        return path === here ||
          (path === "/dashboard/engineers" && here.indexOf("/dashboard/engineers/") === 0);
      });
      return [hrefs, active];
    },

    filterFields: function (pathname, mapping, fieldIds) {
      var path = pathname || "/dashboard/";
      var keys = mapping[path] || mapping[path + "/"] || mapping[path.replace(/\/$/, "")];
      if (!keys) {
        Object.keys(mapping).forEach(function (key) {
          if (key.slice(-1) === "*" && path.indexOf(key.slice(0, -1)) === 0) keys = mapping[key];
        });
      }
      keys = keys || ["period", "team", "region", "language", "root_cause"];
      var styles = fieldIds.map(function (id) {
        var key = id.index === "dates" ? "period" : id.index;
        return keys.indexOf(key) >= 0 ? {} : { display: "none" };
      });
      var hidden = 5 - keys.length;
      var note = hidden > 0
        ? "Filters that do not apply to this page are hidden; they stay set for the other pages."
        : "";
      return [styles, keys.length ? {} : { display: "none" }, note];
    },

    toggle: function (clicks, pathname, isOpen) {
      var trigger = (window.dash_clientside.callback_context.triggered[0] || {}).prop_id || "";
      return trigger.indexOf("pathname") >= 0 ? false : !isOpen;
    },
  },
});
