using System.Text.Json;

namespace Aigc.MLNet.Onnx.Generation;

public sealed partial class GenerationOptions
{
    /// <summary>
    /// Reads a Hugging Face <c>generation_config.json</c> (snake_case keys such as <c>max_new_tokens</c>, <c>do_sample</c>,
    /// <c>top_p</c>, <c>eos_token_id</c> as a number or list, <c>stop_strings</c>); keys it does not know and JSON nulls
    /// keep the defaults. <c>early_stopping: "never"</c> reads as false.
    /// </summary>
    /// <param name="path">Path of generation_config.json.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a JSON object or a known key has the wrong type.</exception>
    public static GenerationOptions FromGenerationConfig(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Generation config not found: '{path}'.", path);
        using FileStream stream = File.OpenRead(path);
        return FromGenerationConfig(stream, path);
    }

    /// <summary>Reads a Hugging Face <c>generation_config.json</c> from a stream (not disposed); see <see cref="FromGenerationConfig(string)"/>.</summary>
    /// <param name="json">The JSON content.</param>
    public static GenerationOptions FromGenerationConfig(Stream json) => FromGenerationConfig(json, nameof(json));

    private static GenerationOptions FromGenerationConfig(Stream json, string name)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{name}' is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"'{name}' must hold a JSON object of generation settings.");
            var o = new GenerationOptions();
            foreach (JsonProperty p in root.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.Null)
                    continue;
                try
                {
                    switch (p.Name)
                    {
                        case "max_new_tokens": o.MaxNewTokens = p.Value.GetInt32(); break;
                        case "max_length": o.MaxLength = p.Value.GetInt32(); break;
                        case "min_new_tokens": o.MinNewTokens = p.Value.GetInt32(); break;
                        case "do_sample": o.DoSample = p.Value.GetBoolean(); break;
                        case "temperature": o.Temperature = p.Value.GetDouble(); break;
                        case "top_k": o.TopK = p.Value.GetInt32(); break;
                        case "top_p": o.TopP = p.Value.GetDouble(); break;
                        case "num_beams": o.NumBeams = p.Value.GetInt32(); break;
                        case "length_penalty": o.LengthPenalty = p.Value.GetDouble(); break;
                        case "early_stopping": o.EarlyStopping = p.Value.ValueKind == JsonValueKind.String ? false : p.Value.GetBoolean(); break;
                        case "num_return_sequences": o.NumReturnSequences = p.Value.GetInt32(); break;
                        case "repetition_penalty": o.RepetitionPenalty = p.Value.GetDouble(); break;
                        case "no_repeat_ngram_size": o.NoRepeatNgramSize = p.Value.GetInt32(); break;
                        case "bad_words_ids": o.BadWordsIds = p.Value.EnumerateArray().Select(a => a.EnumerateArray().Select(x => x.GetInt32()).ToArray()).ToArray(); break;
                        case "eos_token_id": o.EosTokenIds = IntOrList(p.Value); break;
                        case "pad_token_id": o.PadTokenId = p.Value.GetInt32(); break;
                        case "stop_strings": o.StopSequences = p.Value.ValueKind == JsonValueKind.String ? [p.Value.GetString()!] : p.Value.EnumerateArray().Select(x => x.GetString()!).ToArray(); break;
                        case "output_scores": o.OutputScores = p.Value.GetBoolean(); break;
                        case "context_overflow": o.ContextOverflow = ParseContextOverflow(p.Value.GetString(), name); break;
                        case "context_slide_stride": o.ContextSlideStride = p.Value.GetInt32(); break;
                    }
                }
                catch (Exception e) when (e is InvalidOperationException or FormatException)
                {
                    throw new InvalidDataException($"'{name}': key \"{p.Name}\" has an unexpected value {p.Value.GetRawText()}: {e.Message}", e);
                }
            }
            return o;
        }
    }

    /// <summary>Reads the <c>context_overflow</c> key of generation_config.json: "slide" or "stop".</summary>
    internal static ContextOverflow ParseContextOverflow(string? value, string source) => value switch
    {
        "slide" => Generation.ContextOverflow.SlideWindow,
        "stop" => Generation.ContextOverflow.Stop,
        _ => throw new InvalidDataException($"'{source}': \"context_overflow\" must be \"slide\" or \"stop\", found \"{value}\"."),
    };

    private static int[] IntOrList(JsonElement e)
        => e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().Select(x => x.GetInt32()).ToArray() : [e.GetInt32()];
}
