using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Serving;
using OpenAI;
using System.ClientModel;
using System.ClientModel.Primitives;

namespace Aigc.MLNet.Serving.Tests;

/// <summary>Random GPT-2 folders with the real GPT-2 BPE vocabulary, written once per test run, and servers over them.</summary>
internal static class TestModels
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), $"aigc-serving-tests-{Environment.ProcessId}");
    private static readonly Lazy<string> TinyFolder = new(() => Export("tiny", new Gpt2Config
    {
        NumLayers = 2, NumHeads = 2, EmbeddingSize = 16, MaxPositions = 128, InitializerRange = 0.4f,
    }, seed: 5));
    private static readonly Lazy<string> SlowFolder = new(() => Export("slow", new Gpt2Config
    {
        NumLayers = 4, NumHeads = 4, EmbeddingSize = 64, MaxPositions = 1024, InitializerRange = 0.3f,
    }, seed: 6));

    static TestModels()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { if (Directory.Exists(Root)) Directory.Delete(Root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
    }

    /// <summary>2 layers, 16 wide, 128 positions: fast; large random weights give well separated logits.</summary>
    public static string Tiny => TinyFolder.Value;

    /// <summary>4 layers, 64 wide, 1,024 positions: slow enough that a long request is still running while a test acts.</summary>
    public static string Slow => SlowFolder.Value;

    public static string DataDir()
    {
        if (Environment.GetEnvironmentVariable("AIGC_DATA_DIR") is { Length: > 0 } d) return d;
        if (Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x) return Path.Combine(x, "aigc-mlnet");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "aigc-mlnet");
    }

    private static string Export(string name, Gpt2Config config, int seed)
    {
        string gpt2 = Path.Combine(DataDir(), "gpt2");
        string vocab = Path.Combine(gpt2, "vocab.json"), merges = Path.Combine(gpt2, "merges.txt");
        if (!File.Exists(vocab)) Assert.Fail($"GPT-2 vocabulary not found at '{vocab}': run 'bash eng/fetch-data.sh' first.");
        string folder = Path.Combine(Root, name);
        if (Directory.Exists(folder)) Directory.Delete(folder, true);
        Gpt2Exporter.Export(Gpt2Weights.Random(config, seed), Gpt2TokenizerFiles.Bpe(vocab, merges), folder);
        return folder;
    }

    /// <summary>Starts a server on a free loopback port.</summary>
    public static async Task<OpenAIServer> StartServerAsync(string model, Action<OpenAIServerOptions>? tweak = null)
    {
        var options = new OpenAIServerOptions { ModelPath = model, Port = 0, MaxBatchSize = 4, IntraOpNumThreads = 1 };
        tweak?.Invoke(options);
        var server = OpenAIServer.Create(options);
        await server.StartAsync();
        return server;
    }

    /// <summary>The official OpenAI client pointed at <paramref name="server"/>; no retries, so a 429 reaches the test.</summary>
    public static OpenAIClient Client(OpenAIServer server, string key = "no-key") =>
        new(new ApiKeyCredential(key), ClientOptions(server));

    public static OpenAIClientOptions ClientOptions(OpenAIServer server) => new()
    {
        Endpoint = new Uri(server.BaseAddress, "v1/"),
        RetryPolicy = new ClientRetryPolicy(0),
        NetworkTimeout = TimeSpan.FromMinutes(2),
        Transport = new HttpClientPipelineTransport(new HttpClient(Handler())),
    };

    public static HttpClient Http(OpenAIServer server) => new(Handler()) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };

    /// <summary>
    /// By default SocketsHttpHandler reads on (up to 1 MB or 2 s) when an unfinished response is disposed, to reuse the
    /// connection; a fast server may finish the whole generation meanwhile. Here a disposed response closes its
    /// connection at once, so "the client left" is what the server sees.
    /// </summary>
    private static SocketsHttpHandler Handler() => new() { MaxResponseDrainSize = 0 };
}
