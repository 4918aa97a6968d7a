using TorchSharp;

namespace Aigc.MLNet.Trainers.Training;

/// <summary>Resolves the Device option to a TorchSharp device with a clear error when it is unavailable.</summary>
internal static class TrainingDevice
{
    public static torch.Device Resolve(string device)
    {
        // The first TorchSharp call of every trainer: a missing libtorch fails here, naming the package to add.
        Native.TorchRuntime.Initialize();
        if (string.IsNullOrWhiteSpace(device) || device.Equals("cpu", StringComparison.OrdinalIgnoreCase))
            return torch.CPU;
        if (device.StartsWith("cuda", StringComparison.OrdinalIgnoreCase))
        {
            if (!torch.cuda.is_available())
                throw new InvalidOperationException(
                    $"Device '{device}' was requested but CUDA is not available: this build uses the CPU libtorch, or no NVIDIA GPU/driver was found. " +
                    "Add a CUDA libtorch package to the application (this repository: build with -p:AigcGpu=true) on a CUDA machine, or set Device = \"cpu\".");
            return new torch.Device(device.ToLowerInvariant());
        }
        throw new ArgumentException($"Device '{device}' is not supported; use \"cpu\", \"cuda\" or \"cuda:N\".", nameof(device));
    }
}
