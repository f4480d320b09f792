"""Every word of the web chat's pages and of its script, as message ids: translated per request."""

from __future__ import annotations

from collections.abc import Callable

from services.core.i18n import N_

PAGE = {
    "title": N_("HoSo — electronic personnel dossiers"),
    "sign_in": N_("Sign in"),
    "username": N_("Username"),
    "password": N_("Password"),
    "sign_in_button": N_("Sign in"),
    "first_time": N_("First time here? Activate your account with the code from the personnel office."),
    "activate": N_("Activate your account"),
    "activation_code": N_("Activation code"),
    "new_password": N_("New password (at least 8 characters)"),
    "repeat_password": N_("The new password again"),
    "activate_button": N_("Activate and sign in"),
    "have_account": N_("Already activated? Sign in."),
    "classified": N_("Classified material: use HoSo only on a device of your office, and sign out when you leave."),
    "sign_out": N_("Sign out"),
    "menu": N_("Menu"),
    "send": N_("Send"),
    "attach": N_("Attach a scanned paper (PDF, JPG, PNG)"),
    "message_placeholder": N_("Type a message or a command, e.g. /find"),
    "password_placeholder": N_("Type your password: it is not shown"),
    "conversation": N_("Conversation"),
    "expired_notice": N_("Your session has ended. Sign in again: what you were typing is kept."),
    "signed_out_notice": N_("You are signed out."),
    "skip": N_("Skip to the message box"),
    "verify_title": N_("Check a printout's verification code"),
    "verify_code": N_("The code printed beside the QR"),
    "verify_button": N_("Check"),
    "verify_back": N_("Back to the chat"),
}

SCRIPT = {
    "typing": N_("HoSo is typing…"),
    "download": N_("Download"),
    "offline": N_("Connection lost; reconnecting…"),
    "error": N_("Something went wrong. Please try again."),
}

ERRORS = {
    "csrf": N_("This form has expired. Please reload the page and try again."),
    "signed_out": N_("Your session has ended. Please sign in again."),
    "too_many": N_("Too many requests. Please wait a moment and try again."),
    "too_large": N_("That is too large to send."),
    "too_long": N_("A message can have at most {limit} characters."),
    "not_found": N_("Not found, or no longer available."),
    "passwords_differ": N_("The two new passwords are not the same."),
    "bad_request": N_("This request is not valid."),
    "no_button": N_("This button is no longer available."),
    "failed": N_("Something went wrong on the server. Please try again; if it happens again, tell the personnel office."),
}


def translated(table: dict[str, str], translate: Callable[[str], str]) -> dict[str, str]:
    return {key: translate(message) for key, message in table.items()}
