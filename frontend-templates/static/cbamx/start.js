// Log-in on the start page: POST /auth/login sets the HttpOnly session cookie and answers a CSRF
// token, which is kept in sessionStorage for GraphiQL (it must accompany every POST that carries
// the cookie). Nothing else is stored.
(function () {
  "use strict";
  var form = document.getElementById("login");
  var status = document.getElementById("login-status");

  function say(text, kind) {
    status.textContent = text;
    status.className = kind || "";
  }

  document.querySelectorAll("button.use").forEach(function (button) {
    button.addEventListener("click", function () {
      form.elements.email.value = button.dataset.email;
      form.elements.password.value = button.dataset.password;
      form.elements.tenant.value = "";
      form.requestSubmit();
    });
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = { email: form.elements.email.value, password: form.elements.password.value };
    if (form.elements.tenant.value.trim()) {
      body.tenant = form.elements.tenant.value.trim();
    }
    say("Logging in…");
    fetch("/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    })
      .then(function (response) {
        return response.json().then(function (answer) {
          return { ok: response.ok, answer: answer };
        });
      })
      .then(function (result) {
        if (!result.ok) {
          var reason = result.answer.detail || result.answer.title || "log-in refused";
          if (result.answer.code === "PERMISSION_DENIED" && /cross-site/.test(reason)) {
            reason += ": open this page at the server's public URL (e.g. 127.0.0.1, not localhost)";
          }
          say(reason, "failed");
          return;
        }
        window.sessionStorage.setItem("cbamx.csrf", result.answer.csrfToken);
        say("Logged in as " + body.email + ". GraphiQL now sends your requests with your session.", "ok");
      })
      .catch(function (error) {
        say("Log-in failed: " + error, "failed");
      });
  });
})();
