// A service instrumented by hand with the official OpenTelemetry JS SDK: one conversation
// turn of an agent that calls the fake OpenAI server with fetch and records the GenAI
// attributes of the call. No unitcost.* attribute is set. Run by pipeline/stack's
// instrumentation suite:
//
//   node drive.js OTLP_TRACES_URL OPENAI_BASE_URL RUN_ID
//
// It prints "NAME TRACE_ID" for its workflow.
const { trace, context, SpanStatusCode } = require('@opentelemetry/api');
const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources');

async function main() {
  const [otlp, baseURL, run] = process.argv.slice(2);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'js-app', 'deployment.environment.name': 'test' }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: otlp }))],
  });
  const tracer = provider.getTracer('js-app');
  const root = tracer.startSpan('handle_conversation_turn', {
    attributes: {
      'gen_ai.operation.name': 'handle_conversation_turn', 'gen_ai.agent.name': 'js-assistant',
      'gen_ai.conversation.id': `${run}-js`, 'user.id': 'dave',
    },
  });
  const ctx = trace.setSpan(context.active(), root);
  const call = tracer.startSpan('chat gpt-4o-mini', {
    attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini' },
  }, ctx);
  const res = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer sk-test' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Capital of France?' }] }),
  });
  const body = await res.json();
  call.setAttributes({
    'gen_ai.response.model': body.model,
    'gen_ai.usage.input_tokens': body.usage.prompt_tokens,
    'gen_ai.usage.output_tokens': body.usage.completion_tokens,
    'gen_ai.usage.cache_read.input_tokens': body.usage.prompt_tokens_details.cached_tokens,
  });
  call.end();
  root.addEvent('gen_ai.evaluation.result', {
    'gen_ai.evaluation.name': 'helpfulness', 'gen_ai.evaluation.score.label': 'pass', 'gen_ai.evaluation.score.value': 0.9,
  });
  root.setStatus({ code: SpanStatusCode.OK });
  root.end();
  await provider.shutdown();
  console.log(`js-assistant ${root.spanContext().traceId}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
