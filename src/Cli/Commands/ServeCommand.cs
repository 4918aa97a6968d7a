using System.CommandLine;
using Aigc.MLNet.Serving;

namespace Aigc.MLNet.Cli.Commands;

/// <summary><c>aigc serve</c>: an OpenAI-compatible HTTP server with continuous batching (see <see cref="OpenAIServer"/>).</summary>
internal static class ServeCommand
{
    private static readonly (string Property, string Flag)[] Flags =
    [
        (nameof(OpenAIServerOptions.MaxBatchSize), "--max-batch"), (nameof(OpenAIServerOptions.MaxQueueLength), "--max-queue"),
        (nameof(OpenAIServerOptions.MaxPromptTokens), "--max-prompt-tokens"), (nameof(OpenAIServerOptions.MaxTokens), "--max-tokens"),
        (nameof(OpenAIServerOptions.MaxRequestBodyBytes), "--max-body-bytes"), (nameof(OpenAIServerOptions.IntraOpNumThreads), "--threads"),
        (nameof(OpenAIServerOptions.ModelId), "--served-model-name"), (nameof(OpenAIServerOptions.Host), "--host"), (nameof(OpenAIServerOptions.Port), "--port"),
    ];

    public static Command Create(CliContext context)
    {
        var command = new Command("serve", "Serve a GPT-2-style ONNX folder over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions, /v1/models) with continuous batching; /health/live, /health/ready and /metrics for orchestrators. Ctrl+C or SIGTERM stops after the requests in flight.");
        var model = new Option<string>("--model", "-m") { Description = "ONNX model folder with tokenizer files (from 'aigc train gpt', 'aigc convert gpt2', or Optimum).", Required = true };
        var port = new Option<int>("--port") { Description = "TCP port (0 picks a free one).", DefaultValueFactory = _ => 8000 };
        var host = new Option<string>("--host") { Description = "Address to bind: loopback by default; 0.0.0.0 for every interface (in a container).", DefaultValueFactory = _ => "127.0.0.1" };
        var maxBatch = new Option<int>("--max-batch") { Description = "Rows decoded together (a request with n > 1 takes n rows).", DefaultValueFactory = _ => 8 }.AtMost(1024);
        var maxQueue = new Option<int>("--max-queue") { Description = "Requests that may wait for rows; more get 429 with Retry-After.", DefaultValueFactory = _ => 64 }.AtMost(1_000_000);
        var apiKeyEnv = new Option<string?>("--api-key-env") { Description = "Name of an environment variable holding the API key clients must send as 'Authorization: Bearer KEY' (none: no key)." };
        var name = new Option<string?>("--served-model-name") { Description = "Model id clients send and /v1/models lists (default: the folder's name, or its parent's for a folder named onnx)." };
        var maxPrompt = new Option<int?>("--max-prompt-tokens") { Description = "Most tokens per prompt (default: the model's context)." }.AtMost(GenerationFlags.MaxTokens);
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens a request may generate; also the chat default.", DefaultValueFactory = _ => 1024 }.AtMost(GenerationFlags.MaxTokens);
        var timeout = new Option<double>("--request-timeout") { Description = "Seconds before a request is cancelled and answered 408.", DefaultValueFactory = _ => 300 };
        var maxBody = new Option<long>("--max-body-bytes") { Description = "Largest request body; larger ones get 413.", DefaultValueFactory = _ => 1 << 20 };
        var shutdown = new Option<double>("--shutdown-timeout") { Description = "Seconds a graceful stop waits for requests in flight.", DefaultValueFactory = _ => 30 };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0 = default).", DefaultValueFactory = _ => 0 }.AtMost(TrainCommands.MaxThreads);
        foreach (var option in new Option[] { model, port, host, maxBatch, maxQueue, apiKeyEnv, name, maxPrompt, maxTokens, timeout, maxBody, shutdown, threads })
            command.Add(option);
        command.SetAction(async (parse, ct) =>
        {
            string folder = parse.GetValue(model)!;
            if (!Directory.Exists(folder) && !File.Exists(folder)) throw new CliException($"--model: '{folder}' does not exist.");
            string? key = null;
            if (parse.GetValue(apiKeyEnv) is { } variable)
            {
                key = Environment.GetEnvironmentVariable(variable);
                if (string.IsNullOrEmpty(key)) throw new CliException($"--api-key-env: the environment variable '{variable}' is not set or is empty; export the key in it first.");
            }
            double seconds = parse.GetValue(timeout), stopSeconds = parse.GetValue(shutdown);
            if (!(seconds > 0)) throw new CliException($"--request-timeout must be a positive number of seconds, got {seconds}.", ExitCodes.Usage);
            if (!(stopSeconds >= 0)) throw new CliException($"--shutdown-timeout must be 0 or more seconds, got {stopSeconds}.", ExitCodes.Usage);
            var options = new OpenAIServerOptions
            {
                ModelPath = folder, ModelId = parse.GetValue(name), Host = parse.GetValue(host)!, Port = parse.GetValue(port),
                MaxBatchSize = parse.GetValue(maxBatch), MaxQueueLength = parse.GetValue(maxQueue), ApiKey = key,
                MaxPromptTokens = parse.GetValue(maxPrompt), MaxTokens = parse.GetValue(maxTokens), RequestTimeout = TimeSpan.FromSeconds(seconds),
                MaxRequestBodyBytes = parse.GetValue(maxBody), ShutdownTimeout = TimeSpan.FromSeconds(stopSeconds), IntraOpNumThreads = parse.GetValue(threads),
            };
            try
            {
                options.Validate();
            }
            catch (ArgumentException e)
            {
                // Name the flag the user typed rather than the options property.
                string message = e.Message.Split(" (Parameter")[0].Split('\n')[0];
                foreach (var (property, flag) in Flags) message = message.Replace(property, flag, StringComparison.Ordinal);
                throw new CliException(message, ExitCodes.Usage);
            }
            await using var server = OpenAIServer.Create(options);
            await server.StartAsync(ct).ConfigureAwait(false);
            context.Out.WriteLine($"Serving '{server.ModelId}' at {server.BaseAddress} (OpenAI API under /v1; max batch {options.MaxBatchSize}, queue {options.MaxQueueLength}{(key is null ? "" : ", API key required")}). Ctrl+C stops after the requests in flight.");
            context.Out.Flush();
            await server.WaitForShutdownAsync(ct).ConfigureAwait(false);
            context.Out.WriteLine("Stopped.");
            return ExitCodes.Success;
        });
        return command;
    }
}
