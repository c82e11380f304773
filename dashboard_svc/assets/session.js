// No dead ends: when the platform answers 401 to any request of this page (the user signed out in
// another tab, the session expired), the page goes to the sign-in, which says so, and comes back
// to the same view (path and filters) afterwards. The pending request never resolves: Dash shows
// no error for it and nothing is read twice from its body.
(function () {
  "use strict";
  var originalFetch = window.fetch.bind(window);
  var leaving = false;

  function signInAgain() {
    if (leaving) return;
    leaving = true;
    var back = window.location.pathname + window.location.search;
    var start = "/ui/start?next=" + encodeURIComponent(back);
    window.location.assign("/login?signed_out=1&next=" + encodeURIComponent(start));
  }

  function sameOrigin(input) {
    var url = typeof input === "string" ? input : input && input.url;
    try {
      return new URL(url, window.location.href).origin === window.location.origin;
    } catch (error) {
      return false;
    }
  }

  window.fetch = function (input, init) {
    return originalFetch(input, init).then(function (response) {
      if (response.status === 401 && sameOrigin(input)) {
        signInAgain();
        return new Promise(function () {});
      }
      return response;
    });
  };
})();
