"""UrgencyClassifier: training, persistence and loading through Rasa's model storage, prediction on
Simplified, Traditional and spoken input, and the parse output of a real (small) Rasa NLU model."""

from __future__ import annotations

import asyncio
import logging
import textwrap
from pathlib import Path

import opencc
import pytest

from components.triage_model import TriageModel, examples_from_messages, prepare, triage

logging.getLogger("jieba").setLevel(logging.WARNING)

to_trad = opencc.OpenCC("s2t").convert

# A small hand-written training set (not from nlu_data/, so the test does not move with it).
SMALL_YAML = textwrap.dedent(
    """\
    version: "3.1"
    nlu:
    - intent: complain
      examples:
      - text: 你们乱收费，上个月多扣我八百块，不退我就去工信部投诉
        metadata: {urgency: high, complaint_category: fee, severity: major}
      - text: 话费被多扣了一千多，我要找媒体曝光你们
        metadata: {urgency: high, complaint_category: fee, severity: major}
      - text: 账单里多了两块钱，想问问是什么费用
        metadata: {urgency: low, complaint_category: fee, severity: minor}
      - text: 请问这个月的月租为什么多收了五块
        metadata: {urgency: low, complaint_category: fee, severity: minor}
      - text: 不知道为什么扣了我十块钱的会员费，要求退费
        metadata: {urgency: normal, complaint_category: fee, severity: moderate}
      - text: 莫名其妙扣了彩铃费，退钱
        metadata: {urgency: normal, complaint_category: fee, severity: moderate}
      - text: 家里信号太差了，打电话老是断
        metadata: {urgency: normal, complaint_category: network, severity: moderate}
      - text: 网速慢得要命，晚上根本用不了
        metadata: {urgency: normal, complaint_category: network, severity: moderate}
      - text: 信号问题反映了五次都没解决，我要去12300
        metadata: {urgency: high, complaint_category: network, severity: major}
      - text: 小区信号稍微有点弱，反映一下
        metadata: {urgency: low, complaint_category: network, severity: minor}
      - text: 客服态度太差，说两句就挂我电话
        metadata: {urgency: normal, complaint_category: service, severity: moderate}
      - text: 营业厅排队排了一个小时，效率太低
        metadata: {urgency: normal, complaint_category: service, severity: moderate}
      - text: 上门的师傅一直不来，电话也不接
        metadata: {urgency: normal, complaint_category: service, severity: moderate}
      - text: APP老是闪退，查不了话费
        metadata: {urgency: normal, complaint_category: product, severity: moderate}
      - text: 机顶盒质量太差，用两个月就坏了
        metadata: {urgency: normal, complaint_category: product, severity: moderate}
      - text: 我的个人信息被泄露了，天天有人打电话推销
        metadata: {urgency: high, complaint_category: other, severity: major}
      - text: 垃圾短信太多了，烦死了
        metadata: {urgency: normal, complaint_category: other, severity: moderate}
      - text: 有人正在冒用我的身份补卡，银行卡的钱正在被转走，快帮我停机
        metadata: {urgency: critical, complaint_category: other, severity: major}
    - intent: report_fault
      examples:
      - text: 光猫红灯一直闪，上不了网
        metadata: {urgency: normal, fault_category: hardware, service: broadband}
      - text: 机顶盒开不了机
        metadata: {urgency: normal, fault_category: hardware, service: tv}
      - text: 手机卡坏了，读不出来
        metadata: {urgency: normal, fault_category: hardware, service: mobile}
      - text: 营业厅APP登录一直报错
        metadata: {urgency: normal, fault_category: software, service: mobile}
      - text: 电视盒子升级后一直重启
        metadata: {urgency: normal, fault_category: software, service: tv}
      - text: 宽带拨号报错691
        metadata: {urgency: normal, fault_category: software, service: broadband}
      - text: 朝阳区这边宽带断网了
        metadata: {urgency: normal, fault_category: network, service: broadband}
      - text: 手机没信号了，一格都没有
        metadata: {urgency: normal, fault_category: network, service: mobile}
      - text: 我们公司的网现在全断了，业务全停了，赶紧派人
        metadata: {urgency: critical, fault_category: network, service: broadband}
      - text: 电视一直卡顿马赛克
        metadata: {urgency: normal, fault_category: network, service: tv}
      - text: 交了话费还是停机
        metadata: {urgency: normal, fault_category: business, service: mobile}
      - text: 宽带续费了还是提示欠费
        metadata: {urgency: normal, fault_category: business, service: broadband}
      - text: 买了频道包还是看不了
        metadata: {urgency: normal, fault_category: business, service: tv}
    - intent: greet
      examples: |
        - 你好
        - 在吗
        - 哈喽
        - 您好啊
    - intent: query_balance
      examples: |
        - 查话费
        - 我还有多少钱
        - 余额多少
        - 我的账单
    - intent: query_balance
      examples:
      - text: 手机马上停机了，急用，快帮我查下余额
        metadata: {urgency: high}
    """
)


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory):
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    path = tmp_path_factory.mktemp("nlu") / "small.yml"
    path.write_text(SMALL_YAML, encoding="utf-8")
    return RasaYAMLReader().read(str(path))


def _storage(tmp_path: Path):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    (tmp_path / "storage").mkdir(parents=True, exist_ok=True)
    storage = LocalModelStorage(tmp_path / "storage")
    return (
        storage,
        Resource("train_UrgencyClassifier5"),
        ExecutionContext(GraphSchema({}), "test-model"),
    )


def _message(text: str, intent: str | None, entities: list | None = None):
    from rasa.shared.nlu.training_data.message import Message

    msg = Message(data={"text": text})
    if intent:
        msg.set("intent", {"name": intent, "confidence": 0.9})
    if entities:
        msg.set("entities", entities)
    return msg


def test_metadata_is_where_the_component_reads_it(small_data) -> None:
    from components.urgency import UrgencyClassifier

    triples = UrgencyClassifier.training_triples(small_data)
    fee = next(t for t in triples if "工信部" in t[0])
    assert fee[1] == "complain"
    assert fee[2] == {"urgency": "high", "complaint_category": "fee", "severity": "major"}
    examples = examples_from_messages(triples)
    area = next(e for e in examples if "朝阳区" in e.text)
    assert area.text == "朝阳区这边宽带断网了"  # entity markup never reaches the model
    assert area.labels["service"] == "broadband"
    # unlabelled examples still train urgency through their intent's default
    greet = next(e for e in examples if e.text == "你好")
    assert TriageModel().task_label(greet, "urgency") == "low"
    assert TriageModel().task_label(greet, "severity") is None


@pytest.fixture(scope="module")
def trained(small_data, tmp_path_factory):
    from components.urgency import UrgencyClassifier

    tmp = tmp_path_factory.mktemp("urgency")
    storage, resource, context = _storage(tmp)
    component = UrgencyClassifier.create({}, storage, resource, context)
    returned = component.train(small_data)
    assert returned == resource
    loaded = UrgencyClassifier.load({}, storage, resource, context)
    return component, loaded


def test_train_persist_load_gives_same_predictions(trained) -> None:
    component, loaded = trained
    assert loaded._model is not None and loaded._model.is_trained
    for text, intent in [
        ("我的个人信息被泄露了", "complain"),
        ("光猫坏了", "report_fault"),
        ("你好", "greet"),
    ]:
        a = component.process([_message(text, intent)])[0]
        b = loaded.process([_message(text, intent)])[0]
        assert a.get("urgency") == b.get("urgency")
        assert a.get("complaint") == b.get("complaint")
        assert a.get("fault") == b.get("fault")


def test_load_without_a_trained_model_falls_back_to_rules(tmp_path) -> None:
    from components.urgency import UrgencyClassifier

    storage, resource, context = _storage(tmp_path)
    comp = UrgencyClassifier.load(
        {"intent_default_urgency": {"greet": "low"}}, storage, resource, context
    )
    greet = comp.process([_message("你好", "greet")])[0]
    assert greet.get("urgency")["name"] == "low"
    urgent = comp.process([_message("有人正在冒用我的身份补卡，快帮我停机", "complain")])[0]
    assert urgent.get("urgency")["name"] == "critical"
    assert urgent.get("complaint")["severity"] == "major"


def test_urgency_on_every_message_and_in_the_parse_output(trained) -> None:
    _, comp = trained
    for text, intent in [
        ("你好", "greet"),
        ("查话费", "query_balance"),
        ("信号太差了", "complain"),
    ]:
        msg = comp.process([_message(text, intent)])[0]
        out = msg.as_dict(only_output_properties=True)  # what /model/parse returns
        assert out["urgency"]["name"] in ("low", "normal", "high", "critical")
        assert 0.0 <= out["urgency"]["confidence"] <= 1.0
    greet = comp.process([_message("你好", "greet")])[0].as_dict(only_output_properties=True)
    assert greet["urgency"]["name"] == "low"
    assert "complaint" not in greet and "fault" not in greet


def test_complaint_and_fault_outputs(trained) -> None:
    _, comp = trained
    msg = comp.process([_message("你们多扣了我九百块话费，我要去工信部投诉", "complain")])[0]
    out = msg.as_dict(only_output_properties=True)
    assert out["complaint"]["category"] == "fee"
    assert out["complaint"]["severity"] == "major"
    assert out["urgency"]["name"] in ("high", "critical")
    area = [{"entity": "area", "value": "海淀区", "start": 0, "end": 3}]
    msg = comp.process([_message("海淀区这边宽带断网了", "report_fault", area)])[0]
    fault = msg.as_dict(only_output_properties=True)["fault"]
    assert fault["category"] == "network"
    assert fault["service"] == "broadband"
    assert fault["area"] == "海淀区"


def test_traditional_and_spoken_input(trained) -> None:
    _, comp = trained
    trad = to_trad("有人正在冒用我的身份补卡，银行卡的钱正在被转走，快帮我停机")
    assert trad != "有人正在冒用我的身份补卡，银行卡的钱正在被转走，快帮我停机"
    out = comp.process([_message(trad, "complain")])[0]
    assert out.get("urgency")["name"] == "critical"
    assert out.get("complaint")["severity"] == "major"
    trad_fault = comp.process([_message(to_trad("机顶盒开不了机，电视看不了"), "report_fault")])[0]
    assert trad_fault.get("fault")["service"] == "tv"
    spoken = "喂，你好，嗯，那个，就是我家那个宽带啊，嗯，从昨天开始就断网了，那个，一直都没好"
    out = comp.process([_message(spoken, "report_fault")])[0]
    assert out.get("fault")["service"] == "broadband"
    assert out.get("urgency")["name"] in ("normal", "high")
    spoken_major = "喂，嗯，那个，我跟你说啊，就是，你们乱扣费我投诉好几次了，嗯，我明天就去工信部"
    out = comp.process([_message(spoken_major, "complain")])[0]
    assert out.get("complaint")["severity"] == "major"


def test_missed_critical_kinds_are_critical_through_the_component(trained) -> None:
    """Issue 15's misses: the model never saw them; the rules make them critical."""
    _, comp = trained
    for text, intent in [
        (to_trad("手机丢了，绑了支付宝和银行卡，马上帮我停机"), "request_human"),
        ("嗯 那个 扣了我两千多 我怀疑被盗刷了 不退 我就 找记者 曝光", "complain"),
        (to_trad("我的个人信息泄露了，已经报了警"), "complain"),
    ]:
        out = comp.process([_message(text, intent)])[0]
        assert out.get("urgency")["name"] == "critical", text
    for text, intent in [
        ("网速太慢了，烦死了", "report_fault"),
        ("急急急，查下话费", "query_balance"),
        ("多扣了我五块钱，给我退了", "complain"),
    ]:
        out = comp.process([_message(text, intent)])[0]
        assert out.get("urgency")["name"] != "critical", text


def test_fallback_intent_uses_the_best_real_intent(trained) -> None:
    _, comp = trained
    msg = _message("光猫坏了，上不了网", None)
    msg.set("intent", {"name": "nlu_fallback", "confidence": 0.3})
    msg.set(
        "intent_ranking",
        [{"name": "nlu_fallback", "confidence": 0.3}, {"name": "report_fault", "confidence": 0.25}],
    )
    out = comp.process([msg])[0]
    assert out.get("fault") is not None


def test_fast_features_match_sklearn(small_data) -> None:
    from components.urgency import UrgencyClassifier

    model = TriageModel().fit(
        examples_from_messages(UrgencyClassifier.training_triples(small_data))
    )
    for text in ("光猫红灯一直闪", "你们多扣了我九百块", "一个没见过的字"):
        clean = prepare(text)
        fast = model._fast_features(clean)
        slow = model.vectorizer.transform([clean])
        for task in model.heads:
            a, b = model.predict_task(task, fast), model.predict_task(task, slow)
            assert a[0] == b[0]
            assert a[1] == pytest.approx(b[1], abs=1e-9)


def test_rules_only_raise(small_data) -> None:
    from components.urgency import UrgencyClassifier

    model = TriageModel().fit(
        examples_from_messages(UrgencyClassifier.training_triples(small_data))
    )
    order = ("low", "normal", "high", "critical")
    for text in (
        "账单里多了一块钱",
        "我要去消协投诉你们乱收费",
        "信号有点弱",
        "有人正在盗刷我的卡",
    ):
        alone = triage(text, "complain", model, use_rules=False)
        both = triage(text, "complain", model)
        assert order.index(both["urgency"]["name"]) >= order.index(alone["urgency"]["name"])
        sev = ("minor", "moderate", "major")
        assert sev.index(both["complaint"]["severity"]) >= sev.index(alone["complaint"]["severity"])


# --- inside a real Rasa model -------------------------------------------------------------------

NLU_CONFIG = textwrap.dedent(
    """\
    recipe: default.v1
    language: zh
    assistant_id: triage-test
    pipeline:
    - name: JiebaTokenizer
    - name: CountVectorsFeaturizer
      analyzer: char_wb
      min_ngram: 1
      max_ngram: 2
    - name: LogisticRegressionClassifier
      max_iter: 1000  # converges on this small set (100, the default, warns that it did not)
    - name: components.urgency.UrgencyClassifier
    policies: []
    """
)


@pytest.mark.slow
def test_rasa_train_nlu_and_parse(tmp_path: Path) -> None:
    """`rasa train nlu` builds the component into a model; the loaded model's parse result (the
    same dict HTTP /model/parse returns) carries urgency, complaint and fault."""
    from rasa.core.agent import load_agent
    from rasa.model_training import train_nlu

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "nlu.yml").write_text(SMALL_YAML, encoding="utf-8")
    (tmp_path / "config.yml").write_text(NLU_CONFIG, encoding="utf-8")
    model_path = train_nlu(
        config=str(tmp_path / "config.yml"),
        nlu_data=str(tmp_path / "data"),
        output=str(tmp_path / "models"),
    )
    assert model_path and Path(model_path).exists()
    agent = asyncio.run(load_agent(model_path=model_path))
    parsed = asyncio.run(agent.parse_message("你们多扣了我一千块话费，我要去工信部"))
    assert parsed["urgency"]["name"] in ("high", "critical")
    assert "confidence" in parsed["urgency"]
    if parsed["intent"]["name"] == "complain":
        assert parsed["complaint"]["severity"] == "major"
    greet = asyncio.run(agent.parse_message("你好"))
    assert greet["urgency"]["name"] in ("low", "normal")
