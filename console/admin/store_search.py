"""The store list's search: what a staff member's words find, in queries that
one trigram index answers at 100,000 stores.

The rule (said in the list's help text):

- every word must match (the words are ANDed, as everywhere in the admin), and
  a word matches a store if it is found in any of: the store hash, the store
  name, the domain, the merchant's name or slug (ORed across them);
- a word of three characters or more is found anywhere in those: "m424" finds
  the hash m4242, "acme.example" the domain www.acme.example;
- a word of one or two characters is found where a word begins (the start of
  a hash, name, domain or merchant name, after a space; in a slug, after a
  hyphen): "12" finds "Store 12" and "Store 120" but not "Store 312", nor
  every hash with a 12 inside; two characters are too few for a substring to
  narrow anything down, and too few for a trigram index (a substring search
  read every store);
- a number also finds the store with that id (the number in its console URL);
- words in quotes are one word, found as it stands: "Store 12" typed with its
  quotes finds Store 12, Store 120 and Big Store 12, not Store 312;
- a word of punctuation alone ("-", "&") is ignored.

Several words are not read as one phrase unless quoted: "acme 12" means
Acme's stores named 12-something as much as a store called "Acme 12", and
the words, each anywhere, find every store the phrase would. With short words
matched where a word begins, "Store 12" finds what staff typing it mean (Store
12, Store 120…, not the 4,950 stores with "store" somewhere and "12" anywhere
that a substring match found in the benchmark's fleet).

On PostgreSQL the store columns are read through one expression, `SearchText`
(' ' hash ' ' name ' ' domain, upper-cased), which migration
stores.0009_store_search_text_trgm indexes with pg_trgm: a long word is
`LIKE '%WORD%'`, a short one `LIKE '% WO%'` (the leading space makes the hash's
start a word start too), and both are one index scan. Merchants are looked up
first, in one query for all the words, and enter the store query as
`merchant_id IN (…)`: an OR across the join to merchants would keep PostgreSQL
from the index.
"""

from __future__ import annotations

import operator
from functools import reduce

from django.db.models import BooleanField, ExpressionWrapper, F, Func, Q, QuerySet, TextField
from django.utils.text import smart_split, unescape_string_literal

from merchants.models import Merchant
from stores.models import Store

SHORT_WORD = 3  # fewer characters than this: matched where a word begins
# More merchants than this matching the words (say "shop" among thousands of
# merchants): the store query takes them as subqueries instead of lists of ids
# (still right, no longer served by the index).
MERCHANT_IDS_LIMIT = 1000
MAX_ID = 2**63 - 1  # PostgreSQL's bigint


class SearchText(Func):
    """' ' || store_hash || ' ' || name || ' ' || domain, as the store search
    reads it: `UPPER(…) LIKE UPPER('%word%')` once `icontains` wraps it, exactly
    the expression migration stores.0009 indexes (tests/console hold them
    together)."""

    template = "(' ' || %(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()

    def __init__(self):
        super().__init__(F("store_hash"), F("name"), F("domain"))


def search_words(search_term: str) -> list[str]:
    """The words of a search, quoted phrases as one word, without duplicates
    nor words of punctuation alone."""
    words = {}
    for word in smart_split(search_term):
        if word[:1] in ('"', "'") and word[:1] == word[-1:] and len(word) > 1:
            word = unescape_string_literal(word)
        if any(char.isalnum() for char in word):
            words.setdefault(word.casefold(), word)
    return list(words.values())


def is_short(word: str) -> bool:
    return len(word) < SHORT_WORD


def store_id(word: str) -> int | None:
    if word.isascii() and word.isdigit() and len(word) <= len(str(MAX_ID)) and int(word) <= MAX_ID:
        return int(word)
    return None


def merchant_condition(word: str) -> Q:
    if is_short(word):
        # Where a word begins: a name's words part at spaces, a slug's at hyphens.
        return (
            Q(name__istartswith=word)
            | Q(name__icontains=f" {word}")
            | Q(slug__istartswith=word)
            | Q(slug__icontains=f"-{word}")
        )
    return Q(name__icontains=word) | Q(slug__icontains=word)


def matching_merchants(words: list[str]) -> list[list[int] | QuerySet]:
    """For each word, the merchants it matches: their ids, from one query for
    all the words, or subqueries when more than MERCHANT_IDS_LIMIT match."""
    conditions = [merchant_condition(word) for word in words]
    flags = {f"word_{i}": ExpressionWrapper(c, output_field=BooleanField()) for i, c in enumerate(conditions)}
    rows = list(
        Merchant.objects.filter(reduce(operator.or_, conditions))
        .annotate(**flags)
        .order_by()
        .values_list("pk", *flags)[: MERCHANT_IDS_LIMIT + 1]
    )
    if len(rows) > MERCHANT_IDS_LIMIT:
        return [Merchant.objects.filter(condition).values("pk") for condition in conditions]
    return [[row[0] for row in rows if row[i + 1]] for i in range(len(words))]


def _store_matches(word: str, merchants: list[int] | QuerySet) -> Q:
    """One word's condition on a store (queried with `search_text` aliased)."""
    match = Q(search_text__icontains=f" {word}" if is_short(word) else word)
    if (pk := store_id(word)) is not None:
        match |= Q(pk=pk)
    if isinstance(merchants, QuerySet) or merchants:
        match |= Q(merchant_id__in=merchants)
    return match


def search_stores(queryset: QuerySet, search_term: str) -> QuerySet:
    """The stores `search_term` finds (the rule in this module's docstring)."""
    words = search_words(search_term)
    if not words:
        return queryset
    queryset = queryset.alias(search_text=SearchText())
    for word, merchants in zip(words, matching_merchants(words), strict=True):
        queryset = queryset.filter(_store_matches(word, merchants))
    return queryset


def search_by_store(
    queryset: QuerySet, search_term: str, *, store: str = "store", also: tuple[str, ...] = ()
) -> QuerySet:
    """Rows of another list (checks, status changes, deliveries…) whose store
    (reached by the path `store`) the words find by the store list's rule, or,
    word by word, whose `also` fields contain the word.

    The stores are found by the same indexed expression, as a subquery
    (`store IN (…)`): no second index per store column, and no row twice.
    """
    words = search_words(search_term)
    if not words:
        return queryset
    stores = Store.objects.alias(search_text=SearchText()).order_by()
    for word, merchants in zip(words, matching_merchants(words), strict=True):
        match = Q(**{f"{store}__in": stores.filter(_store_matches(word, merchants)).values("pk")})
        for field in also:
            match |= Q(**{f"{field}__icontains": word})
        queryset = queryset.filter(match)
    return queryset


class SearchByStoreMixin:
    """A list searched by its rows' store, as the store list searches
    (`search_by_store`); `search_fields` only turns the admin's search box on."""

    search_store_path = "store"
    search_also: tuple[str, ...] = ()

    def get_search_results(self, request, queryset, search_term):
        return search_by_store(queryset, search_term, store=self.search_store_path, also=self.search_also), False
