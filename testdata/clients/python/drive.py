"""Drives the real openai client, instrumented by one real instrumentation library, against
unitcost's fake OpenAI server, exporting OTLP/HTTP to unitcost ingest. Run by
pipeline/stack's instrumentation suite; no unitcost.* attribute is set anywhere.

    drive.py LIBRARY OTLP_TRACES_URL OPENAI_BASE_URL RUN_ID

LIBRARY is openllmetry (opentelemetry-instrumentation-openai), openinference
(openinference-instrumentation-openai) or openai-v2 (opentelemetry-instrumentation-openai-v2).
Four workflows, each a root span of the application around its calls:
  1. qa: a chat completion with cached prompt tokens; a passing evaluation event.
  2. travel-planner (an agent): a streaming chat completion with usage in the last chunk.
  3. "index documents": an embeddings request (named by its span).
  4. support-bot: a tool call and the answer with its result; the root fails (ERROR).
It prints the trace ids, one per line, as "NAME TRACE_ID".
"""
import sys

import openai
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode


def instrument(library, tp):
    if library == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    elif library == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor
    elif library == "openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    else:
        raise SystemExit(f"unknown library {library!r}")
    OpenAIInstrumentor().instrument(tracer_provider=tp)


def main():
    library, otlp, base_url, run = sys.argv[1:5]
    tp = TracerProvider(resource=Resource.create({
        "service.name": f"{library}-app", "deployment.environment.name": "test"}))
    tp.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=otlp)))
    trace.set_tracer_provider(tp)
    instrument(library, tp)
    tracer = tp.get_tracer("app")
    client = openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
    ids = []

    def done(name, span):
        ids.append(f"{name} {span.get_span_context().trace_id:032x}")

    with tracer.start_as_current_span("answer question", attributes={
            "gen_ai.workflow.name": "qa", "session.id": f"{run}-s1", "user.id": "alice"}) as root:
        client.chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "system", "content": "Answer in one word."},
            {"role": "user", "content": "Capital of France?"}])
        root.add_event("gen_ai.evaluation.result", {
            "gen_ai.evaluation.name": "correctness", "gen_ai.evaluation.score.label": "pass",
            "gen_ai.evaluation.score.value": 1.0})
        done("qa", root)

    with tracer.start_as_current_span("invoke_agent travel-planner", attributes={
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "travel-planner",
            "gen_ai.conversation.id": f"{run}-c2", "enduser.id": "bob"}) as root:
        stream = client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                stream_options={"include_usage": True},
                                                messages=[{"role": "user", "content": "Plan three days in Italy."}])
        for _ in stream:
            pass
        done("travel-planner", root)

    with tracer.start_as_current_span("index documents", attributes={"session.id": f"{run}-s1", "user.id": "alice"}) as root:
        client.embeddings.create(model="text-embedding-3-small", input="Paris is the capital of France.")
        done("index documents", root)

    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    with tracer.start_as_current_span("support request", attributes={
            "agent.name": "support-bot", "session.id": f"{run}-s3", "user.id": "carol"}) as root:
        messages = [{"role": "user", "content": "Weather in Paris?"}]
        first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools)
        call = first.choices[0].message.tool_calls[0]
        messages += [first.choices[0].message.model_dump(exclude_none=True),
                     {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools)
        root.set_status(Status(StatusCode.ERROR, "escalation needed"))
        done("support-bot", root)

    tp.shutdown()
    print("\n".join(ids))


if __name__ == "__main__":
    main()
