// Passkeys (WebAuthn): the one browser API this site needs JavaScript for.
// A button with data-passkey="register" or "login" asks the server for options (data-options),
// lets the browser create or use a passkey, sends the result (data-verify) and follows the
// server's answer. The CSRF token travels in a header; errors are announced in data-status.
"use strict";

(function () {
  function announce(button, message) {
    var status = document.getElementById(button.dataset.status);
    if (status) { status.textContent = message; }
  }

  function post(url, token, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) {
          throw new Error((data.error && data.error.message) || "The server refused the passkey.");
        }
        return data;
      });
    });
  }

  function run(button) {
    var register = button.dataset.passkey === "register";
    var token = button.dataset.csrf;
    var nameField = button.dataset.name ? document.getElementById(button.dataset.name) : null;
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
      announce(button, "This browser cannot use passkeys. Use an authenticator app instead.");
      return;
    }
    button.disabled = true;
    announce(button, register ? "Follow your browser's prompt to create a passkey…"
                              : "Follow your browser's prompt to use your passkey…");
    post(button.dataset.options, token).then(function (options) {
      return register
        ? navigator.credentials.create({publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)})
        : navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options)});
    }).then(function (credential) {
      return post(button.dataset.verify, token, {
        credential: credential.toJSON(),
        name: nameField ? nameField.value : ""
      });
    }).then(function (answer) {
      window.location.assign(answer.redirect);
    }).catch(function (error) {
      button.disabled = false;
      var cancelled = error && (error.name === "NotAllowedError" || error.name === "AbortError");
      announce(button, cancelled ? "No passkey was used. Try again, or use another way below."
                                 : error.message);
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-passkey]");
    if (button) { event.preventDefault(); run(button); }
  });
})();
