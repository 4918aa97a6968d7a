using Microsoft.ML.OnnxRuntime;

namespace Aigc.MLNet.Onnx.Runtime;

/// <summary>
/// Checks that ONNX Runtime's native library can be loaded. The Aigc.MLNet packages depend on the managed bindings
/// only (Microsoft.ML.OnnxRuntime.Managed), as Microsoft.ML.OnnxTransformer does; the application adds the native
/// package. Without it the first ONNX Runtime call would throw a bare DllNotFoundException / TypeInitializationException.
/// </summary>
public static class OnnxRuntimeNative
{
    private static readonly Lazy<Exception?> LoadFailure = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The message given when the native library is missing; it names the packages that supply it.</summary>
    public const string MissingMessage =
        "ONNX Runtime's native library (onnxruntime) could not be loaded. Aigc.MLNet depends on the managed bindings only: " +
        "add the native runtime to your application, `dotnet add package Microsoft.ML.OnnxRuntime` (CPU) or " +
        "`dotnet add package Microsoft.ML.OnnxRuntime.Gpu` (CUDA); in a notebook, `#r \"nuget: Microsoft.ML.OnnxRuntime, 1.31.1\"`.";

    /// <summary>Loads ONNX Runtime once; throws <see cref="InvalidOperationException"/> naming the package to add when it is missing.</summary>
    public static void EnsureAvailable()
    {
        if (LoadFailure.Value is { } e)
            throw new InvalidOperationException($"{MissingMessage} ({e.GetType().Name}: {Innermost(e).Message})", e);
    }

    private static Exception? TryLoad()
    {
        try
        {
            _ = OrtEnv.Instance();
            return null;
        }
        catch (Exception e) when (IsNativeLoadFailure(e))
        {
            return e;
        }
    }

    private static bool IsNativeLoadFailure(Exception e) => Innermost(e) is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException;

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
