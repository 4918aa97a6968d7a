using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Aigc.MLNet.Transforms.Images;

/// <summary>
/// Checks an image model folder's ONNX files against its <c>model.json</c> when the folder is loaded, so a damaged file,
/// a network in the wrong role (a VAE decoder saved as a generator) or a wrong size in model.json fails at once with
/// both files named, instead of inside ONNX Runtime on the first row.
/// </summary>
/// <remarks>The contracts are those of <see cref="ImageModelManifest"/> (batch dimension symbolic or any size).</remarks>
internal static class ImageModelContract
{
    /// <summary>Role names used in messages, matching <see cref="ImageModelRuntime"/>'s.</summary>
    public const string Generator = "GAN generator", Encoder = "VAE encoder", Decoder = "VAE decoder";

    /// <summary>Opens every ONNX file the transform will use and checks it (the sessions are closed again).</summary>
    public static void VerifyFolder(string folder, ImageModelManifest manifest, bool generator, bool encoder, bool decoder)
    {
        foreach (var (use, file, role) in new[] { (generator, manifest.GeneratorFile, Generator), (encoder, manifest.EncoderFile, Encoder), (decoder, manifest.DecoderFile, Decoder) })
        {
            if (!use || file is null) continue;
            string path = Path.Combine(folder, file);
            if (!File.Exists(path))
                throw new FileNotFoundException($"'{Path.Combine(folder, ImageModelManifest.FileName)}' names the {role} '{file}', but '{path}' does not exist.", path);
            Aigc.MLNet.Onnx.Runtime.OnnxRuntimeNative.EnsureAvailable();
            using var options = new SessionOptions();
            using var session = Open(path, options, role);
            Verify(session, path, role, manifest.LatentSize, manifest.ClassCount, manifest.PixelCount);
        }
    }

    /// <summary>Creates the session, turning ONNX Runtime's load failure into a message naming the file and its role.</summary>
    public static InferenceSession Open(string path, SessionOptions options, string role)
    {
        try
        {
            return new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"The {role} '{path}' is not a loadable ONNX model (truncated or damaged?): {e.Message.Split('\n')[0]}", e);
        }
    }

    /// <summary>Checks the session's inputs and outputs against the role's contract and model.json's sizes.</summary>
    public static void Verify(InferenceSession session, string path, string role, int latentSize, int classCount, int pixelCount)
    {
        string manifestPath = Path.Combine(Path.GetDirectoryName(path) ?? "", ImageModelManifest.FileName);
        string Found() => $"inputs found: {Describe(session.InputMetadata)}; outputs: {Describe(session.OutputMetadata)}";
        void Expect(IReadOnlyDictionary<string, NodeMetadata> nodes, string name, TensorElementType type, int? width, string claim, string what, bool checkShape)
        {
            if (!nodes.TryGetValue(name, out var node))
                throw new InvalidDataException($"The {role} '{path}' has no {what} '{name}', so it is not a {role} ({Found()}).");
            if (node.ElementDataType != type)
                throw new InvalidDataException($"The {role} '{path}': {what} '{name}' is {node.ElementDataType}; expected {type} ({Found()}).");
            if (!checkShape) return;
            int[] dims = node.Dimensions;
            if (width is int expected && (dims.Length != 2 || (dims[1] > 0 && dims[1] != expected)))
                throw new InvalidDataException(dims.Length == 2
                    ? $"'{manifestPath}' says {claim}, but {what} '{name}' of the {role} '{path}' has {dims[1]} values per row."
                    : $"The {role} '{path}': {what} '{name}' has shape [{string.Join(", ", dims)}]; expected [batch, {expected}] ({Found()}).");
            if (width is null && dims.Length != 1)
                throw new InvalidDataException($"The {role} '{path}': {what} '{name}' has shape [{string.Join(", ", dims)}]; expected [batch] ({Found()}).");
        }

        var inputs = session.InputMetadata;
        var outputs = session.OutputMetadata;
        var expected = new List<(IReadOnlyDictionary<string, NodeMetadata> Nodes, string Name, TensorElementType Type, int? Width, string Claim, string What)>();
        string latent = $"LatentSize {latentSize}", pixels = $"images of {pixelCount} pixels";
        switch (role)
        {
            case Generator:
                expected.Add((inputs, "z", TensorElementType.Float, latentSize, latent, "input"));
                if (classCount > 0) expected.Add((inputs, "label", TensorElementType.Int64, null, $"ClassCount {classCount}", "input"));
                else if (inputs.ContainsKey("label"))
                    throw new InvalidDataException($"'{manifestPath}' says ClassCount 0 (unconditional), but the {role} '{path}' takes a class 'label' input ({Found()}).");
                expected.Add((outputs, "image", TensorElementType.Float, pixelCount, pixels, "output"));
                break;
            case Encoder:
                expected.Add((inputs, "pixels", TensorElementType.Float, pixelCount, pixels, "input"));
                expected.Add((outputs, "mean", TensorElementType.Float, latentSize, latent, "output"));
                expected.Add((outputs, "log_variance", TensorElementType.Float, latentSize, latent, "output"));
                break;
            case Decoder:
                expected.Add((inputs, "z", TensorElementType.Float, latentSize, latent, "input"));
                expected.Add((outputs, "image", TensorElementType.Float, pixelCount, pixels, "output"));
                break;
        }
        // Names and types first (which network is this?), then sizes (does model.json describe it?).
        foreach (var e in expected) Expect(e.Nodes, e.Name, e.Type, null, e.Claim, e.What, checkShape: false);
        foreach (var e in expected) Expect(e.Nodes, e.Name, e.Type, e.Width, e.Claim, e.What, checkShape: true);
        if (inputs.Count > (role == Generator && classCount > 0 ? 2 : 1))
            throw new InvalidDataException($"The {role} '{path}' takes more inputs than a {role} does ({Found()}).");
    }

    private static string Describe(IReadOnlyDictionary<string, NodeMetadata> nodes) =>
        string.Join(", ", nodes.Select(n => $"{n.Key} {n.Value.ElementDataType} [{string.Join(", ", n.Value.Dimensions.Select(d => d > 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?"))}]"));
}
