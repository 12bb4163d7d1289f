"""The two text rules of core/contract/text.py: storable (what PostgreSQL and UTF-8 hold) and plain (a one-line
name), and that every former copy of the storable rule now says the same thing."""
import pytest

from core.contract.codec import check_value
from core.contract.errors import InputError
from core.contract.text import not_plain_character, reject_unstorable_text, storable_text, unstorable_reason

UNSTORABLE = ["\x00", "\ud800", "\udbff", "\udc00", "\udfff"]
STORABLE_NOT_PLAIN = ["\t", "\n", "\r", "\x1f", "\x7f", "\x85", "\x9f", "\u200e", "\u200f", "\u202a", "\u202e",
                      "\u2066", "\u2069"]
PLAIN = ["Germany", "Île-de-France", "東京", "a b", "\u00a0", "\U0001f600"]


@pytest.mark.parametrize("char", UNSTORABLE)
def test_what_cannot_be_stored_is_not_plain_either(char):
    text = f"ab{char}c"
    assert unstorable_reason(text).endswith("at character 2")
    assert not_plain_character(text).start() == 2


@pytest.mark.parametrize("char", STORABLE_NOT_PLAIN)
def test_controls_and_bidirectional_marks_are_storable_but_not_plain(char):
    assert unstorable_reason(f"a{char}b") is None
    assert not_plain_character(f"a{char}b").group() == char


@pytest.mark.parametrize("text", PLAIN)
def test_plain_text_passes_both_rules(text):
    assert unstorable_reason(text) is None and not_plain_character(text) is None


def test_reasons_name_the_character():
    assert unstorable_reason("ab\x00") == "contains a NUL character at character 2"
    assert unstorable_reason("\ud800") == "contains a lone surrogate (not valid Unicode) at character 0"


def test_the_api_walk_and_the_codec_refuse_with_the_same_reason():
    # The REST API's copy said "must not contain NUL characters or unpaired surrogates"; it now gives the
    # codec's reason, which says which character and where. Both still name the key.
    for value in ("x\x00y", ["ok", {"k\ud800": 1}], {"a": ["b", "c\x00"]}):
        with pytest.raises(InputError) as walked:
            reject_unstorable_text({"Region": value})
        with pytest.raises(InputError) as decoded:
            check_value("Region", value)
        assert walked.value.key == decoded.value.key == "Region"
        assert walked.value.reason == decoded.value.reason
    reject_unstorable_text({"Region": "Germany", "Note": ["line\none", {"tab\t": 1.5}]})


def test_storable_text_keeps_what_it_can():
    assert storable_text("a\x00b\ud800c") == "ab?c"
    assert storable_text("plain\nnote") == "plain\nnote"
