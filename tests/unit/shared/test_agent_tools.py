"""A tool call becomes one REST request: path parameters placed (encoded), the rest as the JSON
body, and a 422 problem naming each argument that has no place."""

from shared.agent_tools import RestCall, RestOperation, rest_call, tool_result


def operation(path: str, parameters: tuple[str, ...], has_body: bool) -> RestOperation:
    return RestOperation(
        operation_id="op",
        method="POST" if has_body else "GET",
        path=path,
        path_parameters=parameters,
        has_body=has_body,
        summary="",
        description="",
        input_schema={},
    )


def test_path_parameters_are_placed_encoded_and_the_rest_is_the_body():
    call = rest_call(
        operation("/api/v1/qa/sessions/{session_id}/events", ("session_id",), True),
        {"session_id": "a/b?c", "field": "case_number"},
    )
    assert call == RestCall(
        "POST", "/api/v1/qa/sessions/a%2Fb%3Fc/events", {"field": "case_number"}
    )


def test_missing_path_parameters_and_arguments_without_a_body_are_named():
    missing = rest_call(operation("/api/v1/x/{a}/{b}", ("a", "b"), False), {"a": "1"})
    assert missing["status"] == 422
    assert missing["errors"] == [{"field": "b", "reason": "Missing data for required field."}]
    unknown = rest_call(operation("/api/v1/x/{a}", ("a",), False), {"a": "1", "z": 2, "y": 3})
    assert [error["field"] for error in unknown["errors"]] == ["y", "z"]
    assert rest_call(operation("/api/v1/x/{a}", ("a",), False), {"a": "1"}).body is None


def test_a_rest_answer_becomes_a_tool_result():
    ok = tool_result("compare_history", 200, {"sessions": 2})
    assert ok.is_error is False
    assert ok.structured_content == {"sessions": 2}
    assert ok.content[0].text == '{"sessions":2}'
    listed = tool_result("show_validation_log", 200, [1, 2])
    assert listed.structured_content == {"items": [1, 2]}
    failed = tool_result("store_analysis", 502, None)
    assert failed.is_error is True
    assert failed.structured_content["status"] == 502
