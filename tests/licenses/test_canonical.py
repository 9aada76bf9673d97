"""The signed bytes are RFC 8785 whichever encoder writes them: the standard library's where it
gives the same bytes, ``rfc8785`` elsewhere (floats, astral-plane keys, huge integers)."""

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from datong.licenses import signing

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**60), 2**60), st.text(max_size=20),
                    st.floats(allow_nan=False, allow_infinity=False))
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(st.text(max_size=8), inner, max_size=5)),
                         max_leaves=25)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=8), documents, max_size=6))
def test_canonical_equals_rfc8785(document):
    try:
        expected = rfc8785.dumps(document)
    except rfc8785.IntegerDomainError:
        return  # RFC 8785 has no form for integers beyond 2**53; neither do licences
    assert signing.canonical(document) == expected


def test_the_fast_encoder_is_used_for_licence_shaped_documents():
    doc = {"id": "1.2.156", "data": {"姓名": "张三", "备注": "\u2028\n\"\\"}, "version": 2, "valid_until": None}
    assert signing._plain(doc) and signing.canonical(doc) == rfc8785.dumps(doc)
    assert not signing._plain({"x": 1.5}) and not signing._plain({"\U0001f600": 1})
