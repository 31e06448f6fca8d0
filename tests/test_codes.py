"""Tests for courseware.domain.codes: format, round-trips and typo detection."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from courseware.domain.codes import (
    CODE_LENGTH,
    MalformedCode,
    check_symbol,
    format_code,
    generate_code,
    grouped,
    parse_code,
)

# Written out here rather than imported so the tests do not share a typo with
# the implementation.
DATA = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK = DATA + "*~$=U"

# No example database: keeps the test run from writing .hypothesis/ into the repo.
SETTINGS = settings(database=None, max_examples=200)

bits128 = st.integers(min_value=0, max_value=2**128 - 1)


def code_for(value: int) -> str:
    return generate_code(randbits=lambda _bits: value)


def to_base32(value: int) -> str:
    """Independent big-endian base32 encoding in 26 symbols."""
    return "".join(DATA[(value >> (5 * (25 - i))) & 31] for i in range(26))


def value_of(data: str) -> int:
    return int("".join(f"{DATA.index(s):05b}" for s in data), 2)


# --- known vectors -------------------------------------------------------------


def test_zero_vector() -> None:
    assert code_for(0) == "0" * 26 + "0"


def test_value_37_has_check_zero() -> None:
    # 37 = 1*32 + 5 -> data "...15"; 37 mod 37 = 0 -> check "0".
    assert code_for(37) == "0" * 24 + "15" + "0"


def test_value_36_has_check_u() -> None:
    # 36 = 1*32 + 4 -> data "...14"; 36 mod 37 = 36 -> check "U".
    assert code_for(36) == "0" * 24 + "14" + "U"


@pytest.mark.parametrize(("value", "check"), [(32, "*"), (33, "~"), (34, "$"), (35, "=")])
def test_extra_check_symbols(value: int, check: str) -> None:
    code = code_for(value)
    assert code[-1] == check
    assert parse_code(code) == code


def test_largest_value() -> None:
    value = 2**128 - 1
    code = code_for(value)
    assert code[0] == "7"  # 130 - 128 = 2 leading zero bits in the first 5-bit symbol
    assert code[:-1] == "7" + "Z" * 25
    assert code[-1] == CHECK[value % 37]


def test_check_symbol_matches_independent_computation() -> None:
    data = "7ZYXWVTSRQPNMKJHGFEDCBA987"
    assert check_symbol(data) == CHECK[value_of(data) % 37]


def test_check_symbol_rejects_non_data() -> None:
    with pytest.raises(ValueError):
        check_symbol("U" * 26)
    with pytest.raises(ValueError):
        check_symbol("0" * 25)


# --- generation ----------------------------------------------------------------


def test_generated_code_shape() -> None:
    code = generate_code()
    assert len(code) == CODE_LENGTH == 27
    assert all(ch in DATA for ch in code[:-1])
    assert code[-1] in CHECK
    assert value_of(code[:-1]) < 2**128
    assert code[0] in "01234567"


def test_generate_asks_for_128_bits() -> None:
    asked: list[int] = []

    def fake(bits: int) -> int:
        asked.append(bits)
        return 12345

    generate_code(randbits=fake)
    assert asked == [128]


def test_generate_rejects_out_of_range_randbits() -> None:
    with pytest.raises(ValueError):
        generate_code(randbits=lambda _bits: 2**128)


def test_two_codes_differ() -> None:
    assert generate_code() != generate_code()


@SETTINGS
@given(bits128)
def test_encoding_matches_independent_base32(value: int) -> None:
    code = code_for(value)
    assert code[:-1] == to_base32(value)
    assert code[-1] == CHECK[value % 37]
    assert value_of(code[:-1]) == value


# --- round trips ---------------------------------------------------------------


@SETTINGS
@given(bits128)
def test_canonical_and_display_round_trip(value: int) -> None:
    code = code_for(value)
    shown = format_code(code)
    assert [len(g) for g in shown.split("-")] == [5, 5, 5, 4, 4, 4]
    assert shown.replace("-", "") == code
    assert parse_code(shown) == code
    assert parse_code(code) == code
    assert parse_code(shown.lower()) == code
    assert parse_code(shown.replace("-", " ")) == code
    assert parse_code(" \t" + shown.replace("-", " - ").lower() + "\n") == code


@SETTINGS
@given(bits128, st.data())
def test_look_alike_letters_are_read_as_digits(value: int, data: st.DataObject) -> None:
    code = code_for(value)
    typed = []
    for ch in code:
        if ch == "1":
            ch = data.draw(st.sampled_from("1IiLl"))
        elif ch == "0":
            ch = data.draw(st.sampled_from("0Oo"))
        typed.append(ch)
    assert parse_code("".join(typed)) == code


def test_lowercase_u_check_symbol() -> None:
    code = code_for(36)
    assert parse_code(code.lower()) == code


@pytest.mark.parametrize("dash", ["\u2010", "\u2011", "\u2013", "\u2212"])
def test_typographic_dashes_are_ignored(dash: str) -> None:
    code = code_for(123456789)
    assert parse_code(format_code(code).replace("-", dash)) == code


def test_non_breaking_space_is_whitespace() -> None:
    code = code_for(987654321)
    assert parse_code(format_code(code).replace("-", "\u00a0")) == code


# --- typo detection ------------------------------------------------------------


@SETTINGS
@given(bits128, st.integers(0, CODE_LENGTH - 1), st.sampled_from(CHECK))
def test_any_single_substitution_is_rejected(value: int, position: int, symbol: str) -> None:
    code = code_for(value)
    if code[position] == symbol:
        symbol = CHECK[(CHECK.index(symbol) + 1) % len(CHECK)]
    typo = code[:position] + symbol + code[position + 1 :]
    with pytest.raises(MalformedCode) as caught:
        parse_code(typo)
    assert caught.value.reason in {"check", "characters"}


def test_every_single_substitution_of_one_code_is_rejected() -> None:
    """Exhaustive over positions and symbols for a fixed code."""
    code = code_for(0x0123_4567_89AB_CDEF_FEDC_BA98_7654_3210)
    for position in range(CODE_LENGTH):
        for symbol in CHECK:
            if symbol == code[position]:
                continue
            typo = code[:position] + symbol + code[position + 1 :]
            with pytest.raises(MalformedCode) as caught:
                parse_code(typo)
            assert caught.value.reason in {"check", "characters"}


@SETTINGS
@given(bits128, st.integers(0, CODE_LENGTH - 2))
def test_any_adjacent_transposition_is_rejected(value: int, position: int) -> None:
    code = code_for(value)
    a, b = code[position], code[position + 1]
    if a == b:
        return  # swapping equal symbols is not a typo
    swapped = code[:position] + b + a + code[position + 2 :]
    with pytest.raises(MalformedCode) as caught:
        parse_code(swapped)
    assert caught.value.reason in {"check", "characters"}


@SETTINGS
@given(bits128)
def test_last_data_symbol_swapped_with_check(value: int) -> None:
    """The data/check boundary, which the mod-37 argument covers only because
    a == b is the sole solution of 2a = 2b (mod 37)."""
    code = code_for(value)
    a, b = code[-2], code[-1]
    if a == b:
        return
    with pytest.raises(MalformedCode) as caught:
        parse_code(code[:-2] + b + a)
    assert caught.value.reason in {"check", "characters"}


def test_mistyped_message() -> None:
    code = code_for(42)
    typo = code[:3] + ("1" if code[3] != "1" else "2") + code[4:]
    with pytest.raises(MalformedCode) as caught:
        parse_code(typo)
    assert caught.value.reason == "check"
    assert str(caught.value) == "This code looks mistyped: please check it and try again."


# --- malformed input -----------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "-", " - - \n\t"])
def test_empty(text: str) -> None:
    with pytest.raises(MalformedCode) as caught:
        parse_code(text)
    assert caught.value.reason == "empty"
    assert str(caught.value)


@SETTINGS
@given(bits128, st.integers(1, 10))
def test_too_short_and_too_long(value: int, n: int) -> None:
    code = code_for(value)
    for text in (code[:-n] if n < CODE_LENGTH else "", code + code[:n]):
        if not text:
            continue
        with pytest.raises(MalformedCode) as caught:
            parse_code(text)
        assert caught.value.reason == "length"
        assert "27" in str(caught.value)


@pytest.mark.parametrize("bad", ["!", "#", "_", ".", "/", "é", "ß", "ı", "Ａ", "\u0130"])
def test_bad_characters(bad: str) -> None:
    code = code_for(99)
    with pytest.raises(MalformedCode) as caught:
        parse_code(code[:10] + bad + code[11:])
    assert caught.value.reason == "characters"
    assert str(caught.value)


@pytest.mark.parametrize("extra", list("*~$=Uu"))
def test_check_only_symbols_rejected_in_data_positions(extra: str) -> None:
    code = code_for(99)
    with pytest.raises(MalformedCode) as caught:
        parse_code(extra + code[1:])
    assert caught.value.reason == "characters"


def test_bad_characters_win_over_length() -> None:
    with pytest.raises(MalformedCode) as caught:
        parse_code("ABC!")
    assert caught.value.reason == "characters"


def test_malformed_code_is_value_error() -> None:
    assert issubclass(MalformedCode, ValueError)


def test_format_code_rejects_malformed() -> None:
    with pytest.raises(MalformedCode):
        format_code("0" * 26 + "1")


@SETTINGS
@given(bits128)
def test_grouped_is_format_code_without_the_recheck(value: int) -> None:
    code = code_for(value)
    assert grouped(code) == format_code(code)


def test_format_code_example_shape() -> None:
    assert format_code(code_for(0)) == "00000-00000-00000-0000-0000-0000"


@SETTINGS
@given(st.text(alphabet=CHECK, min_size=CODE_LENGTH, max_size=CODE_LENGTH))
def test_any_string_of_code_symbols_is_accepted_only_when_it_is_a_code(text: str) -> None:
    """Text already in canonical form takes the short way through parse_code (no
    normalising): it must agree with the rules, symbol by symbol, computed independently."""
    data, check = text[:-1], text[-1]
    is_code = all(s in DATA for s in data) and CHECK.index(check) == value_of(data) % 37
    if is_code:
        assert parse_code(text) == text
        assert parse_code(text.lower()) == text  # the long way agrees
    else:
        with pytest.raises(MalformedCode):
            parse_code(text)
