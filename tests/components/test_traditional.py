"""Traditional → Simplified conversion before tokenisation."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.traditional import TraditionalToSimplified, to_simplified


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("話費還剩多少", "话费还剩多少"),
        ("幫我查一下上個月的帳單", "帮我查一下上个月的账单"),
        ("我要去臺灣，國際漫遊怎麼開通", "我要去台湾，国际漫游怎么开通"),
        ("轉人工客服", "转人工客服"),
        ("查话费", "查话费"),  # already Simplified: unchanged
        ("5G套餐 APP 12GB", "5G套餐 APP 12GB"),  # ASCII untouched
        ("", ""),
    ],
)
def test_to_simplified(traditional, simplified):
    assert to_simplified(traditional) == simplified


def test_keeps_length_so_entity_offsets_stay_valid():
    text = "我想開通香港的漫遊，號碼是13800138000"
    assert len(to_simplified(text)) == len(text)


def test_component_rewrites_messages_and_training_data():
    component = TraditionalToSimplified()
    messages = component.process([Message({TEXT: "流量還剩多少"}), Message({TEXT: ""})])
    assert [m.get(TEXT) for m in messages] == ["流量还剩多少", ""]
    data = TrainingData([Message({TEXT: "幫我換套餐", "intent": "change_plan"})])
    assert component.process_training_data(data).training_examples[0].get(TEXT) == "帮我换套餐"


def test_training_entity_values_are_converted_too():
    entity = {"start": 0, "end": 3, "value": "上個月", "entity": "month"}
    data = TrainingData(
        [Message({TEXT: "上個月的帳單", "intent": "query_balance", "entities": [entity]})]
    )
    example = TraditionalToSimplified().process_training_data(data).training_examples[0]
    assert example.get(TEXT) == "上个月的账单"
    assert example.get("entities")[0]["value"] == "上个月"
