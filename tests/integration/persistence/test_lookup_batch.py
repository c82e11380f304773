"""The batch look-up: many names to their pseudonyms in one call, each answer named by its place in
the request, the same pseudonyms as single look-ups, one invalid name refusing the whole batch."""

import pytest

from persistence_svc.schemas import MAX_LOOKUP_BATCH

BATCH = "/api/v1/engineers/lookup/batch"
NAMES = ["Jonas Weber", "JONAS  weber", "Zoë O'Brien-Łukasz", "Anna Example"]


def single(api, name):
    answer = api.as_agent("POST", "/api/v1/engineers/lookup", json={"engineer": name})
    assert answer.status_code == 200, answer.json
    return answer.json["engineer_code"]


@pytest.mark.parametrize("role", ["agent", "manager", "qa_lead", "admin"])
def test_a_batch_answers_what_single_look_ups_answer_in_order(api, role):
    answer = api.call("POST", BATCH, role, teams=("emea-1",), json={"engineers": NAMES})
    assert answer.status_code == 200, answer.json
    assert answer.json == {
        "items": [
            {"engineer": index, "engineer_code": single(api, name)}
            for index, name in enumerate(NAMES)
        ]
    }
    codes = [item["engineer_code"] for item in answer.json["items"]]
    assert codes[0] == codes[1] and len(set(codes)) == 3, "names are normalised as one by one"
    assert not any(name.split()[0].lower() in answer.text.lower() for name in NAMES)


def test_a_batch_of_the_largest_size_is_answered(api):
    names = [f"Engineer {chr(65 + i // 26)}{chr(97 + i % 26)}" for i in range(MAX_LOOKUP_BATCH)]
    answer = api.as_manager("POST", BATCH, json={"engineers": names})
    assert answer.status_code == 200
    assert [item["engineer"] for item in answer.json["items"]] == list(range(MAX_LOOKUP_BATCH))


def test_an_invalid_name_is_a_422_naming_its_place_and_not_the_name(api):
    body = {"engineers": ["Anna Example", "J0nas Weber", "Bo Dash", "mail@example.test"]}
    answer = api.as_agent("POST", BATCH, json=body)
    assert answer.status_code == 422
    assert [error["field"] for error in answer.json["errors"]] == ["engineers.1", "engineers.3"]
    assert "J0nas" not in answer.text and "example.test" not in answer.text
    assert "Anna" not in answer.text and "engineer_code" not in answer.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"engineers": []}, "engineers"),
        ({"engineers": ["Anna Example"] * (MAX_LOOKUP_BATCH + 1)}, "engineers"),
        ({"engineers": ["Anna Example", ""]}, "engineers.1"),
        ({"engineers": ["Anna Example", "x" * 201]}, "engineers.1"),
        ({"engineers": ["Anna Example", 7]}, "engineers.1"),
        ({"engineers": "Anna Example"}, "engineers"),
        ({"engineer": "Anna Example"}, "engineer"),
        ({}, "engineers"),
    ],
)
def test_a_bad_batch_is_a_422_naming_the_field(api, body, field):
    answer = api.as_agent("POST", BATCH, json=body)
    assert answer.status_code == 422
    assert field in [error["field"] for error in answer.json["errors"]]
    assert "Anna" not in answer.text and "xxxx" not in answer.text
