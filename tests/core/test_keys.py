"""keys: URL normalisation, entry keys (only named headers, hashed credentials), write keys."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from hypothesis import given, strategies as st

from edgecache.http import Headers
from edgecache.keys import (DLQ_KEY, QUEUE_KEY, SYNC_LEASE_KEY, entry_key, normalise_percent_encoding, normalise_url,
                            write_key)

# -- normalise_percent_encoding (RFC 3986 §6.2.2) ------------------------------------------


def test_encoded_unreserved_characters_are_the_characters_themselves() -> None:
    assert normalise_percent_encoding("https://a.example/api/items/%33") == "https://a.example/api/items/3"
    assert normalise_percent_encoding("/api/%7Euser/%41-%5f.%2e?q=%61%62") == "/api/~user/A-_..?q=ab"


def test_reserved_and_other_encodings_stay_encoded_with_upper_case_hex() -> None:
    assert normalise_percent_encoding("/a%2fb/%3a?x=%26%3d&y=%c3%a9") == "/a%2Fb/%3A?x=%26%3D&y=%C3%A9"
    assert normalise_percent_encoding("/100%") == "/100%"  # not an encoding: left as it is
    assert normalise_percent_encoding("/%3%33?a=%41") == "/%3%33?a=A"  # a stray % keeps its part as sent
    assert normalise_percent_encoding("/plain?q=1") == "/plain?q=1"


@given(st.text(alphabet="aXz0123456789-._~%/FfAe", max_size=30))
def test_normalising_twice_changes_nothing(path: str) -> None:
    once = normalise_percent_encoding("/" + path)
    assert normalise_percent_encoding(once) == once


# -- normalise_url -------------------------------------------------------------------------


def test_query_order_does_not_matter() -> None:
    assert normalise_url("https://a.example/x?b=1&a=2") == normalise_url("https://a.example/x?a=2&b=1")
    assert normalise_url("/x?b=1&a=2") == "/x?a=2&b=1"


def test_scheme_and_host_are_not_part_of_it() -> None:
    """One deployment fronts one origin: workers.dev and a custom domain share entries."""
    assert normalise_url("https://one.workers.dev/p?q=1") == normalise_url("http://api.example.com/p?q=1") == "/p?q=1"


def test_fragment_is_dropped_and_empty_path_is_root() -> None:
    assert normalise_url("https://a.example") == "/"
    assert normalise_url("https://a.example/?") == "/"
    assert normalise_url("/p#section") == "/p"


def test_path_is_kept_exactly() -> None:
    assert normalise_url("/Items/A%2FB") == "/Items/A%2FB"
    assert normalise_url("/items") != normalise_url("/Items")


def test_different_values_stay_different() -> None:
    assert normalise_url("/p?a=1") != normalise_url("/p?a=2")
    assert normalise_url("/p?a=1") != normalise_url("/p?b=1")
    assert normalise_url("/p?a=%26") != normalise_url("/p?a=&")  # an encoded & is data, not a separator


def test_blank_values_are_kept() -> None:
    assert normalise_url("/p?flag=&a=1") == "/p?a=1&flag="
    assert normalise_url("/p?flag") != normalise_url("/p")


def test_repeated_parameters_keep_their_relative_order() -> None:
    """``?sort=price&sort=name`` and ``?sort=name&sort=price`` may be different answers (the
    origin sees a list), so they must not share a cache entry."""
    assert normalise_url("/s?sort=price&sort=name") != normalise_url("/s?sort=name&sort=price")
    assert normalise_url("/s?z=1&sort=price&a=0&sort=name") == "/s?a=0&sort=price&sort=name&z=1"


_names = st.text(alphabet="abcdefXYZ_-.~ &=%+/é", min_size=1, max_size=6)
_values = st.text(alphabet="abc123 &=%+/?#é", max_size=6)


@given(st.dictionaries(_names, _values, max_size=6), st.randoms(use_true_random=False))
def test_distinct_parameters_in_any_order_give_one_url(params: dict[str, str], random) -> None:
    pairs = list(params.items())
    shuffled = pairs[:]
    random.shuffle(shuffled)
    assert normalise_url("/r?" + urlencode(pairs)) == normalise_url("/r?" + urlencode(shuffled))


@given(st.lists(st.tuples(_names, _values), max_size=6), st.randoms(use_true_random=False))
def test_reordering_that_keeps_same_name_order_gives_one_url(pairs, random) -> None:
    """Any interleaving of different names is equivalent, as long as each name's values keep
    their order."""
    by_name: dict[str, list[str]] = {}
    for name, value in pairs:
        by_name.setdefault(name, []).append(value)
    queues = {name: list(values) for name, values in by_name.items()}
    remaining = [name for name, _ in pairs]
    random.shuffle(remaining)
    interleaved = [(name, queues[name].pop(0)) for name in remaining]
    assert normalise_url("/r?" + urlencode(pairs)) == normalise_url("/r?" + urlencode(interleaved))


@given(st.dictionaries(_names, _values, max_size=6))
def test_normalising_is_idempotent_and_keeps_every_parameter(params: dict[str, str]) -> None:
    once = normalise_url("/r?" + urlencode(params))
    assert normalise_url(once) == once
    assert dict(parse_qsl(urlsplit(once).query, keep_blank_values=True)) == params


# -- entry_key -----------------------------------------------------------------------------

HEADERS = Headers({"Accept": "application/json", "Accept-Language": "fr", "X-Trace": "abc"})


def test_entry_key_is_a_fixed_size_hash() -> None:
    key = entry_key("https://a.example/" + "x" * 10_000, HEADERS, ())
    assert re.fullmatch(r"entry:[0-9a-f]{64}", key)


def test_entry_key_is_stable_across_hosts_and_query_order() -> None:
    assert entry_key("https://a/p?b=2&a=1", HEADERS, ()) == entry_key("http://b/p?a=1&b=2", Headers(), ())


def test_unnamed_headers_do_not_split_the_cache() -> None:
    assert entry_key("/p", HEADERS, ()) == entry_key("/p", Headers({"X-Trace": "other", "Accept": "text/html"}), ())


def test_named_headers_do_split_the_cache() -> None:
    json_key = entry_key("/p", Headers({"Accept": "application/json"}), ("accept",))
    html_key = entry_key("/p", Headers({"Accept": "text/html"}), ("accept",))
    assert json_key != html_key
    assert json_key == entry_key("/p", Headers({"accept": "application/json", "X-Other": "1"}), ("accept",))


def test_naming_a_header_changes_the_key_even_when_absent() -> None:
    """A route's key headers are part of the key, so two routes never collide by accident."""
    assert entry_key("/p", Headers(), ("accept",)) != entry_key("/p", Headers(), ())


def test_path_and_query_split_the_cache() -> None:
    assert entry_key("/p?a=1", Headers(), ()) != entry_key("/p?a=2", Headers(), ())
    assert entry_key("/p", Headers(), ()) != entry_key("/q", Headers(), ())


def test_per_user_key_depends_on_a_hash_of_the_credential_never_the_credential() -> None:
    alice = entry_key("/me", Headers(), (), credential="Bearer alice-secret")
    bob = entry_key("/me", Headers(), (), credential="Bearer bob-secret")
    shared = entry_key("/me", Headers(), ())
    assert len({alice, bob, shared}) == 3
    assert alice == entry_key("/me", Headers(), (), credential="Bearer alice-secret")
    for key in (alice, bob):
        assert "secret" not in key and "alice" not in key
    # Not even the plain hash of the credential is exposed as the key.
    assert hashlib.sha256(b"Bearer alice-secret").hexdigest() not in alice


def test_empty_credential_is_still_a_user() -> None:
    assert entry_key("/me", Headers(), (), credential="") != entry_key("/me", Headers(), ())


# -- fixed keys ----------------------------------------------------------------------------


def test_write_key_and_fixed_keys_are_distinct_namespaces() -> None:
    assert write_key("0190abc") == "write:0190abc"
    names = {QUEUE_KEY, DLQ_KEY, SYNC_LEASE_KEY}
    assert len(names) == 3
    for name in names:
        assert not name.startswith(("entry:", "write:"))
