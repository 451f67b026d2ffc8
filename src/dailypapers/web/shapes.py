"""The shapes of every JSON answer, as pydantic models, so that `/openapi.json` says what the routes send.

Routes build their bodies as dicts (`dailypapers.hf_shapes` and the modules here) and return them already
serialized by orjson: FastAPI's own encoder is about three times slower on list endpoints, and a returned
Response skips its validation. These models only document; the conformance test
(tests/test_openapi_conformance.py) checks every answer against them, and `extra="forbid"` makes a key sent
but not described fail it.

A field made with `absent()` is sent only when known: it may be missing, never null (Hugging Face's
client treats a missing key as None). `str | None` fields are always sent, possibly null.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dailypapers.digests.subscriptions import (
    MAX_CATEGORIES,
    MAX_PAPERS,
    MAX_SEARCH_CHARS,
    MAX_SEARCHES,
    MIN_PAPERS,
)


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def absent() -> Any:
    """A field that is left out rather than sent as null: not required, and not nullable."""
    return Field(default=None, json_schema_extra=_no_default)


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Error(Shape):
    """Every error: a 4xx or 5xx status with one message that says what to change."""

    error: str


class Health(Shape):
    """A web process that answers, with a database that answers."""

    status: Literal["ok"]
    latestDay: str | None = Field(description="The newest day on the feed (YYYY-MM-DD), if any.")


# -- Hugging Face's shapes (docs/hf-papers-api.md, dailypapers.hf_shapes) ----------------------------------


class User(Shape):
    id_: str = Field(alias="_id")
    name: str
    user: str = Field(description="The username again: Hugging Face's client reads `user`, its data `name`.")
    fullname: str
    avatarUrl: str
    type: Literal["user", "org"]
    isPro: bool


class Organization(Shape):
    id_: str = Field(alias="_id")
    name: str
    fullname: str
    avatar: str
    avatarUrl: str


class Author(Shape):
    id_: str = Field(alias="_id")
    name: str
    hidden: bool
    user: User = absent()
    status: Literal["claimed_verified"] = absent()
    statusLastChangedAt: str = absent()


class KnownExtras(Shape):
    """Fields sent only when known, in the paper and again at the top of a daily item (Hugging Face's
    client reads them there)."""

    ai_summary: str = absent()
    ai_keywords: list[str] = Field(
        default=None,
        description="Hugging Face's key words when imported; else 3-8 key phrases extracted here when the "
        "paper was indexed.",
        json_schema_extra=_no_default,
    )
    githubRepo: str = absent()
    githubStars: int = absent()
    projectPage: str = absent()
    organization: Organization = absent()


class Paper(KnownExtras):
    """The nested `paper` of a daily item."""

    id: str = Field(description="The arXiv id, without version.")
    authors: list[Author]
    publishedAt: str | None = Field(description="`YYYY-MM-DDTHH:MM:SS.mmmZ`")
    title: str
    summary: str
    upvotes: int
    discussionId: str
    submittedOnDailyAt: str = absent()
    submittedOnDailyBy: User = absent()
    withdrawnAt: str = absent()


class PaperDetail(Paper):
    """`GET /api/papers/{id}`: the flat paper, plus our extras; `upvoted` for a signed-in caller."""

    numComments: int = Field(description="Comments here.")
    isAuthorParticipating: bool
    upvoted: bool = absent()
    numCommentsOnHf: int = Field(description="Comments on Hugging Face's page of the paper, as imported.")
    categories: list[str]
    version: int | None
    comment: str | None
    doi: str | None
    journalRef: str | None
    updatedAt: str | None
    arxivUrl: str
    pdfUrl: str
    keySentence: str = Field(
        default=None,
        description="The sentence of the abstract that best states the paper's contribution: extracted when "
        "the paper was indexed, never generated.",
        json_schema_extra=_no_default,
    )


class DailyItem(KnownExtras):
    """One paper on the daily feed, as `GET /api/daily_papers` lists it."""

    paper: Paper
    title: str
    summary: str
    publishedAt: str | None
    thumbnail: str
    numComments: int = Field(description="Comments here.")
    numCommentsOnHf: int = Field(description="Comments on Hugging Face's page of the paper, as imported.")
    isAuthorParticipating: bool
    upvotes: int
    submittedBy: User
    upvoted: bool = absent()
    submittedOnDailyAt: str = absent()


class Segment(Shape):
    """A piece of a highlighted title or abstract; the pieces spell the whole string."""

    type: Literal["text", "highlight"]
    text: str


class HitScores(Shape):
    """Why a search found a paper: its fused score and its 1-based ranks in the keyword and semantic lists."""

    score: float
    keywordRank: int | None
    semanticRank: int | None


class SearchItem(DailyItem):
    """One result of `GET /api/papers/search` (Hugging Face's contract, plus `search` when a query ran)."""

    upvoted: bool
    highlightedTitle: list[Segment]
    highlightedSummary: list[Segment]
    search: HitScores = absent()


class SimilarItem(DailyItem):
    search: HitScores


# -- the pages' JSON twins ---------------------------------------------------------------------------------


class Card(DailyItem):
    """A paper as a feed page lists it."""

    day: str | None
    isTopOfDay: bool
    url: str


class TrendingCard(Card):
    trendingScore: float = Field(description="Fresh upvotes now: each weighs 1, halving every half-life.")
    recentUpvotes: int = Field(
        description="Upvotes of the last half-life (imported ones count from the paper's day on the feed)."
    )


class WhyMatched(Shape):
    """One reason a search result matched."""

    where: Literal["title", "abstract", "keyPhrase", "authors", "words", "meaning"]
    text: str = Field(description="In words: “chain of thought” in the abstract, close in meaning, ...")
    phrase: str | None = Field(description="The topic found there as a unit (its words in a row), if any.")


class SearchCard(Card):
    categories: list[str]
    highlightedTitle: list[Segment]
    highlightedSummary: list[Segment]
    search: HitScores
    why: str = Field(
        description='Why it was found, in words: "“chain of thought” in the abstract; close in meaning".'
    )
    whyMatched: list[WhyMatched] = Field(description="The same reasons, one by one.")


class ProfileCard(DailyItem):
    url: str


class PeriodInfo(Shape):
    kind: Literal["date", "week", "month"]
    key: str
    label: str
    start: str
    end: str = Field(description="The day after the period (exclusive).")


class FeedPage(Shape):
    """A day, week or month of the feed; `/index.json`: the latest day (`period` null while the site is
    empty)."""

    period: PeriodInfo | None
    previous: str | None = Field(description="The page of the previous period with papers.")
    next: str | None
    page: int
    hasMore: bool
    papers: list[Card]


class TrendingPage(Shape):
    halfLifeHours: float
    page: int
    papers: list[TrendingCard]


class CollectionLink(Shape):
    """A public collection that holds the paper, as the paper page names it."""

    slug: str
    title: str
    owner: str = Field(description="The owner's username.")
    upvotes: int
    numItems: int
    url: str = Field(description="The collection's page on this site.")


class PaperPage(PaperDetail):
    """`/papers/{id}.json`: the paper, the public collections that hold it (as its page lists them), and its
    similar papers once search is up."""

    inCollections: list[CollectionLink] = Field(
        description="The most upvoted public collections holding the paper (at most 20; "
        "`/api/collections?item=papers/{id}` lists them all)."
    )
    inCollectionsTotal: int = Field(description="How many public collections hold the paper.")
    similarPapers: list[Card] = absent()


class SearchFiltersInfo(Shape):
    from_: str | None = Field(alias="from")
    to: str | None
    categories: list[str]
    daily: bool


class SearchPage(Shape):
    query: str
    mode: Literal["keyword", "semantic", "hybrid"]
    filters: SearchFiltersInfo
    sort: Literal["relevance", "newest", "upvotes"]
    page: int
    pageSize: int
    offset: int
    count: int
    total: int | None = Field(
        description="Results counted: the first 200 of the ranking (null on pages past them, by relevance)."
    )
    moreThanTotal: bool = Field(description="The ranking goes on past `total`.")
    hasMore: bool
    papers: list[SearchCard]


# -- community ---------------------------------------------------------------------------------------------


class UpvoteState(Shape):
    id: str = Field(description="The arXiv id.")
    upvotes: int
    upvoted: bool


class Reply(Shape):
    id: int
    parentId: int | None
    author: User
    isPaperAuthor: bool
    createdAt: str | None
    editedAt: str | None
    deleted: bool
    hidden: bool
    body: str = Field(description="Markdown as written (empty once deleted, or hidden from you).")
    html: str = Field(description="The Markdown rendered and sanitized.")


class Comment(Reply):
    """A comment; a top-level one carries its replies, oldest first."""

    replies: list[Reply] = absent()


class CommentsPage(Shape):
    comments: list[Comment]
    total: int = Field(description="Top-level threads you can see.")
    page: int
    limit: int
    hasMore: bool


class SubmissionJob(Shape):
    """Where the fetch of a submitted paper stands."""

    id: int
    arxivId: str
    status: Literal["queued", "running", "done", "failed"]
    error: str | None
    statusUrl: str
    paper: DailyItem | None = Field(description="Once done: the daily item.")


class ModerationEntry(Shape):
    id: int
    at: str | None
    moderator_id: int | None
    moderator: str
    action: str
    target_type: str
    target_id: int
    paper_id: int | None
    subject_user_id: int | None
    reason: str | None
    details: Any
    subject: str | None = Field(description="The username whose comment, submission or account it was.")
    paper: str | None = Field(description="The arXiv id of the paper concerned.")


class ModerationPage(Shape):
    page: int
    hasMore: bool
    entries: list[ModerationEntry]


# -- accounts ----------------------------------------------------------------------------------------------


class WhoamiAuth(Shape):
    type: Literal["access_token"]


class Whoami(Shape):
    """The account a token (or session) belongs to, as Hugging Face's `whoami-v2` has it."""

    type: Literal["user"]
    id: str
    name: str
    fullname: str
    email: str | None
    emailVerified: bool
    isModerator: bool
    auth: WhoamiAuth


class AccountSettings(Shape):
    id: int
    username: str
    email: str | None
    emailVerified: bool
    role: Literal["user", "moderator", "admin"]
    suspended: bool


class ApiToken(Shape):
    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to recognize it by.")
    createdAt: str
    lastUsedAt: str | None
    expiresAt: str
    expired: bool


class ApiTokens(Shape):
    tokens: list[ApiToken]


class Profile(Shape):
    username: str
    fullname: str | None
    avatarUrl: str | None
    origin: str = Field(description="`local`, or where an imported user came from (`hf`).")
    createdAt: str | None
    submitted: list[ProfileCard]
    upvoted: list[ProfileCard]


# -- digests -----------------------------------------------------------------------------------------------


class SavedSearch(Shape):
    q: str = Field(max_length=MAX_SEARCH_CHARS)
    mode: Literal["keyword", "semantic"]


class SubscriptionAccepted(Shape):
    status: Literal["accepted"]
    message: str


class DigestPreferences(Shape):
    email: str
    status: str = Field(description="`pending`, `active`, `unsubscribed` or `suppressed`.")
    frequency: Literal["daily", "weekly"]
    maxPapers: int
    categories: list[str]
    searches: list[SavedSearch]


# -- request bodies --------------------------------------------------------------------------------------


class SubscribeIn(BaseModel):
    """`POST /api/subscriptions`."""

    email: str = Field(max_length=320)
    frequency: Literal["daily", "weekly"] = "daily"


class PreferencesIn(BaseModel):
    """Preferences to change; what is left out stays as it was."""

    frequency: Literal["daily", "weekly"] = absent()
    maxPapers: int = Field(default=None, ge=MIN_PAPERS, le=MAX_PAPERS, json_schema_extra=_no_default)
    categories: list[str] = Field(
        default=None,
        max_length=MAX_CATEGORIES,
        description="arXiv categories such as cs.CL or hep-th.",
        json_schema_extra=_no_default,
    )
    searches: list[SavedSearch] = Field(default=None, max_length=MAX_SEARCHES, json_schema_extra=_no_default)


# -- collections (dailypapers.curation.hf) --------------------------------------------------------------


class CollectionNote(Shape):
    text: str
    html: str = Field(description="The text escaped, line breaks as <br>.")


class CollectionItem(Shape):
    id_: str = Field(alias="_id", description="The item's own id (24 hex digits): for updates and deletes.")
    id: str = Field(description="The arXiv id.")
    type: Literal["paper"]
    position: int = Field(description="0 is first.")
    title: str
    upvotes: int
    publishedAt: str | None
    addedAt: str | None
    note: CollectionNote = absent()


class Collection(Shape):
    id_: str = Field(alias="_id", description="The slug's id: 24 hex digits.")
    slug: str = Field(description="`<owner>/<title words>-<id>`, as on Hugging Face.")
    title: str
    description: str | None
    owner: User
    items: list[CollectionItem] = Field(description="All of them; the first four in lists.")
    numItems: int
    lastUpdated: str
    createdAt: str
    position: int = Field(
        None,
        description="Among the owner's collections, 0 first; not in lists.",
        json_schema_extra=_no_default,
    )
    private: bool
    theme: str
    upvotes: int
    url: str = Field(description="The collection's page on this site.")
    isUpvotedByUser: bool = absent()


class CollectionConflict(Shape):
    error: str
    slug: str = Field(description="The collection of that title you have already.")


class CollectionUpdated(Shape):
    success: bool
    data: Collection


class Done(Shape):
    success: bool


class CollectionUpvote(Shape):
    slug: str
    upvotes: int
    upvoted: bool


class CollectionsPage(Shape):
    sort: str
    page: int
    hasMore: bool
    collections: list[Collection]


class OwnerCollections(Shape):
    owner: str
    collections: list[Collection]


# -- authors, organizations, claims, follows (web.authors) ------------------------------------------------


class PaperLine(Shape):
    """A paper in one line, as author and organization pages list them."""

    id: str = Field(description="The arXiv id.")
    title: str
    url: str
    publishedAt: str | None
    day: str | None = Field(description="Its first day on Daily Papers, if it was on it.")
    upvotes: int
    categories: list[str]
    organization: str | None


class AuthorPaper(PaperLine):
    name: str = Field(description="The author's name as this paper writes it.")
    position: int = Field(description="0-based place in the author list.")
    authorCount: int
    group: int | None = Field(description="The co-author group (when the name may be several people).")
    claimedBy: str | None = Field(description="The account a moderator confirmed for this name here.")


class NameCountShape(Shape):
    name: str
    url: str
    papers: int


class CategoryCount(Shape):
    category: str
    papers: int


class AuthorPageShape(Shape):
    name: str
    key: str = Field(description="The folded name every spelling is matched by.")
    spellings: dict[str, int] = Field(description="Each spelling under this key and its papers.")
    ambiguous: bool = Field(description="The papers may be by more than one person (see `groups`).")
    groups: list[int] = Field(
        description="When the papers look like several people: sizes of the groups sharing no co-author."
    )
    accounts: list[str] = Field(description="Accounts confirmed as this author on some paper.")
    paperCount: int
    totalUpvotes: int
    firstPaper: AuthorPaper | None
    lastPaper: AuthorPaper | None
    categories: list[CategoryCount]
    coauthors: list[NameCountShape]
    papers: list[AuthorPaper]
    following: bool = absent()


class OrgDay(Shape):
    day: str | None
    papers: list[PaperLine]


class OrgPageShape(Shape):
    name: str
    key: str
    url: str
    spellings: dict[str, int]
    paperCount: int
    totalUpvotes: int
    days: list[OrgDay] = Field(description="Its papers by day on Daily Papers, newest first.")
    trending: list[PaperLine]
    authors: list[NameCountShape]
    following: bool = absent()


class OrgList(Shape):
    organizations: list[NameCountShape]


class ClaimShape(Shape):
    id: int
    paper: str = Field(description="The arXiv id.")
    title: str
    name: str = Field(description="The author name claimed, as the paper writes it.")
    position: int
    status: Literal["pending", "approved", "rejected"]
    user: User
    createdAt: str | None
    decidedAt: str | None


class ClaimList(Shape):
    page: int
    hasMore: bool
    claims: list[ClaimShape]


class FollowShape(Shape):
    kind: Literal["author", "org", "category"]
    name: str
    key: str
    url: str
    createdAt: str | None


class FollowList(Shape):
    follows: list[FollowShape]


class FollowingCard(Card):
    why: list[str] = Field(description="What you follow that brought it: author, organization, category.")


class FollowingPage(Shape):
    follows: list[FollowShape]
    page: int
    hasMore: bool
    papers: list[FollowingCard]


class ClaimIn(BaseModel):
    """`POST /api/papers/{id}/claims`: the author name you claim, as the paper writes it."""

    name: str = Field(max_length=500)


class ClaimDecisionIn(BaseModel):
    action: Literal["approve", "reject"]
    reason: str = Field(default="", max_length=500)


class FollowIn(BaseModel):
    kind: Literal["author", "org", "category"]
    name: str = Field(max_length=500, description="An author name, an organization, or an arXiv category.")


# -- trends (dailypapers.web.trends) -----------------------------------------------------------------------


class TrendWeek(Shape):
    week: str = Field(description="The week's Monday.")
    papers: int = Field(description="Papers with the topic that week.")
    upvotes: int = Field(description="Their upvotes.")
    allPapers: int = Field(description="All papers of that week.")


class TrendPaper(Shape):
    id: str
    title: str
    upvotes: int
    publishedAt: str | None
    url: str


class RisingTopic(Shape):
    kind: Literal["phrase", "category"]
    key: str
    url: str
    papers: int = Field(description="Papers with the topic in the window.")
    baselinePapers: int
    expectedPapers: float = Field(description="What the topic's share of the baseline weeks predicts.")
    rise: float = Field(description="log2((papers + a) / (expectedPapers + a)): 1 is twice the expected.")
    upvotes: int
    upvoteRise: float | None = Field(
        description="The same statistic over upvotes (null: none in the window)."
    )
    weeks: list[TrendWeek] = Field(description="The 26 weeks up to the window's end.")
    topPapers: list[TrendPaper]


class TrendStatistic(Shape):
    formula: str
    alpha: float
    minimumWeek: int
    minimumMonth: int
    baselineWeeks: dict[str, int]
    docs: str


class TrendWindow(Shape):
    start: str
    end: str = Field(description="The day after the window.")
    baselineStart: str
    papers: int
    baselinePapers: int
    minimumPapers: int
    phrases: list[RisingTopic]
    categories: list[RisingTopic]


class TrendsPage(Shape):
    week: str = Field(
        description="The ISO week the windows end with (`?week=`; default: the latest with papers)."
    )
    latestWeek: str
    papersInCorpus: int
    statistic: TrendStatistic
    windows: dict[Literal["week", "month"], TrendWindow]


class TopicClaim(Shape):
    start: str
    end: str
    papers: int
    baselinePapers: int
    expectedPapers: float
    rise: float
    upvotes: int
    upvoteRise: float | None
    minimumPapers: int
    claimed: bool = Field(description="Whether this is called a rise: enough papers, and more than expected.")


class RelatedTopic(Shape):
    key: str
    url: str
    papersTogether: int
    lift: float = Field(
        description="How much likelier the phrase is on the topic's papers than on any paper."
    )


class TopicMonth(Shape):
    month: str
    papers: list[TrendPaper]


class TopicPage(Shape):
    kind: Literal["phrase", "category"]
    key: str
    url: str
    papersInCorpus: int
    week: str
    weeks: list[TrendWeek]
    allWeeks: list[TrendWeek]
    trend: dict[Literal["week", "month"], TopicClaim]
    related: list[RelatedTopic]
    months: list[TopicMonth]
    statistic: TrendStatistic


class TopicSuggestion(Shape):
    kind: Literal["phrase", "category"]
    key: str
    url: str


class TopicNotFound(Shape):
    error: str
    suggestions: list[TopicSuggestion]


class MapLabel(Shape):
    x: float
    y: float
    label: str = Field(description="The key phrase most over-represented in the region.")
    papers: int


class MapInfo(Shape):
    """`/map.json`: `pointsUrl` holds float32 triples (x, y, 0 older / 1 this week / 2 today), `idsUrl` the
    arXiv ids in the same order."""

    points: int
    builtAt: str
    model: str
    today: str | None = Field(description="The latest day with papers: its papers are today's.")
    todayPapers: int
    thisWeekPapers: int
    labels: list[list[MapLabel]] = Field(description="Region names at three zoom levels, coarse to fine.")
    pointsUrl: str
    idsUrl: str


# -- For you (web.foryou) ---------------------------------------------------------------------------


class FeedbackState(Shape):
    """A paper as the reader sees it after a like, dislike or clear: private to the reader."""

    id: str = Field(description="The arXiv id.")
    profile: str = Field(description="The profile the signal was given in.")
    signal: Literal["like", "dislike"] | None = Field(description="The reader's signal in that profile.")
    profiles: dict[str, Literal["like", "dislike"]] = Field(
        description="The reader's signal in each profile."
    )
    upvoted: bool = Field(description="Whether the reader upvoted it (an upvote counts as a like).")


class Recommendation(PaperDetail):
    """`GET /api/recommendations`: a paper as `GET /api/papers/{id}` gives it, plus why it is recommended."""

    score: float = Field(description="The personal score (higher first); with mix, blended with trending.")
    reasons: list[str] = Field(description="Why, in plain words, from the features that scored it.")
