"""Sealing: only the right private key opens a worry, only in the row it was sealed for."""

import pytest

from worrybox import opening, sealing


@pytest.fixture(scope="module")
def team_key():
    return opening.generate_private_key()


def test_sealed_text_opens_with_the_recipient_key(team_key):
    text = "Someone took my lunch 😢 — میں ڈرتا ہوں".encode()
    sealed = sealing.seal({"team-1": opening.public_key_of(team_key)}, text, b"worry|1|v1")
    assert text not in sealed.body
    assert opening.open_sealed(sealed.body, "team-1", sealed.keys["team-1"], team_key, b"worry|1|v1") == text


def test_a_worry_moved_to_another_row_does_not_open(team_key):
    sealed = sealing.seal({"team-1": opening.public_key_of(team_key)}, b"secret", b"worry|1|v1")
    with pytest.raises(opening.OpenError):
        opening.open_sealed(sealed.body, "team-1", sealed.keys["team-1"], team_key, b"worry|2|v1")


def test_a_flipped_byte_does_not_open(team_key):
    sealed = sealing.seal({"team-1": opening.public_key_of(team_key)}, b"secret", b"worry|1|v1")
    for position in (1, 13, len(sealed.body) - 1):
        tampered = bytearray(sealed.body)
        tampered[position] ^= 0x01
        with pytest.raises(opening.OpenError):
            opening.open_sealed(bytes(tampered), "team-1", sealed.keys["team-1"], team_key, b"worry|1|v1")
    tampered_key = bytearray(sealed.keys["team-1"])
    tampered_key[40] ^= 0x01
    with pytest.raises(opening.OpenError):
        opening.open_sealed(sealed.body, "team-1", bytes(tampered_key), team_key, b"worry|1|v1")


def test_a_different_private_key_does_not_open(team_key):
    sealed = sealing.seal({"team-1": opening.public_key_of(team_key)}, b"secret", b"worry|1|v1")
    with pytest.raises(opening.OpenError):
        opening.open_sealed(sealed.body, "team-1", sealed.keys["team-1"], opening.generate_private_key(), b"worry|1|v1")


def test_a_content_key_claimed_for_another_key_id_does_not_open(team_key):
    sealed = sealing.seal({"team-1": opening.public_key_of(team_key)}, b"secret", b"worry|1|v1")
    with pytest.raises(opening.OpenError):
        opening.open_sealed(sealed.body, "team-2", sealed.keys["team-1"], team_key, b"worry|1|v1")


def test_each_recipient_opens_the_same_worry(team_key):
    teacher_key = opening.generate_private_key()
    recipients = {"team-1": opening.public_key_of(team_key), "staff-9": opening.public_key_of(teacher_key)}
    sealed = sealing.seal(recipients, b"both can read", b"worry|5|v1")
    assert opening.open_sealed(sealed.body, "staff-9", sealed.keys["staff-9"], teacher_key, b"worry|5|v1") == b"both can read"
    assert opening.open_sealed(sealed.body, "team-1", sealed.keys["team-1"], team_key, b"worry|5|v1") == b"both can read"


def test_two_seals_of_the_same_text_look_different(team_key):
    public = {"team-1": opening.public_key_of(team_key)}
    assert sealing.seal(public, b"same", b"a").body != sealing.seal(public, b"same", b"a").body


def test_password_wrapped_key_opens_only_with_the_right_password():
    secret = opening.generate_private_key()
    wrapped = opening.wrap_with_passphrase("a long staff password", secret, b"ctx")
    assert opening.unwrap_with_passphrase("a long staff password", wrapped, b"ctx") == secret
    with pytest.raises(opening.OpenError):
        opening.unwrap_with_passphrase("a long staff passwore", wrapped, b"ctx")
    with pytest.raises(opening.OpenError):
        opening.unwrap_with_passphrase("a long staff password", wrapped, b"other context")


def test_password_wrapping_uses_argon2id_with_at_least_46_mib():
    wrapped = opening.wrap_with_passphrase("a long staff password", b"x" * 32, b"ctx")
    assert int.from_bytes(wrapped[2:6], "big") >= 46 * 1024


def test_recovery_code_is_forgiving_about_spaces_and_case():
    code = opening.new_recovery_code()
    assert len(opening.normalise_recovery_code(code)) == 32
    typed = " " + code.lower().replace("-", " ") + " "
    assert opening.normalise_recovery_code(typed) == opening.normalise_recovery_code(code)


def test_malformed_public_key_is_refused():
    with pytest.raises(ValueError):
        sealing.load_public_key(b"\x00" * 10)
