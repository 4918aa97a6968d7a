using System.Text;
using Aigc.MLNet.Onnx.Proto;
using TorchSharp;
using TorchSharp.Modules;

namespace Aigc.MLNet.Trainers.Training;

/// <summary>
/// Checkpoint file of a training run (<c>checkpoint.bin</c>), written atomically (temp file + rename).
/// </summary>
/// <remarks>
/// Format (little-endian, BinaryWriter): magic "AIGCCKPT", int32 version 1, string task kind, int32 seed, int32 batch size,
/// int64 steps completed, int32 module count, then each module's TorchSharp state (<c>Module.save</c>), int32 optimizer
/// count, then each optimizer's state (<c>save_state_dict</c>). Data order and noise are functions of (seed, step), so
/// these fields are all a resume needs to continue bit for bit.
/// </remarks>
internal static class TrainingCheckpoint
{
    public const string FileName = "checkpoint.bin";
    private const string Magic = "AIGCCKPT";
    private const int Version = 1;

    public static string PathIn(string folder) => Path.Combine(folder, FileName);

    public static void Save(string path, ICheckpointable task, int seed, int batchSize, long steps)
    {
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            writer.Write(Encoding.ASCII.GetBytes(Magic));
            writer.Write(Version);
            writer.Write(task.Kind);
            writer.Write(seed);
            writer.Write(batchSize);
            writer.Write(steps);
            writer.Write(task.Modules.Count);
            foreach (var module in task.Modules) module.save(writer);
            writer.Write(task.Optimizers.Count);
            foreach (var optimizer in task.Optimizers) optimizer.save_state_dict(writer);
            writer.Flush();
        });
    }

    /// <summary>Loads a checkpoint into <paramref name="task"/> and returns the steps it had completed.</summary>
    public static long Load(string path, ICheckpointable task, int seed, int batchSize)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        try
        {
            var header = ReadHeader(reader, path);
            if (header.Kind != task.Kind)
                throw new InvalidDataException($"Checkpoint '{path}' belongs to a '{header.Kind}' model, not '{task.Kind}' (same architecture and sizes are needed to resume).");
            if (header.Seed != seed)
                throw new ArgumentException($"Checkpoint '{path}' was written with Seed {header.Seed}; resuming with Seed {seed} would not continue the same run.", "Seed");
            if (header.BatchSize != batchSize)
                throw new ArgumentException($"Checkpoint '{path}' was written with BatchSize {header.BatchSize}; resuming with BatchSize {batchSize} would not continue the same run.", "BatchSize");
            if (reader.ReadInt32() != task.Modules.Count) throw new InvalidDataException($"Checkpoint '{path}' has a different number of modules.");
            foreach (var module in task.Modules) module.load(reader, strict: true);
            if (reader.ReadInt32() != task.Optimizers.Count) throw new InvalidDataException($"Checkpoint '{path}' has a different number of optimizers.");
            foreach (var optimizer in task.Optimizers) optimizer.load_state_dict(reader);
            return header.Steps;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"Checkpoint '{path}' is truncated.", e);
        }
    }

    /// <summary>Reads the fields before the modules (magic, version, kind, seed, batch size, steps).</summary>
    internal static TrainingCheckpointInfo ReadHeader(BinaryReader reader, string path)
    {
        if (Encoding.ASCII.GetString(reader.ReadBytes(Magic.Length)) != Magic || reader.ReadInt32() != Version)
            throw new InvalidDataException($"'{path}' is not a checkpoint of this version.");
        string kind = reader.ReadString();
        int seed = reader.ReadInt32();
        int batchSize = reader.ReadInt32();
        long steps = reader.ReadInt64();
        return new TrainingCheckpointInfo(kind, seed, batchSize, steps);
    }
}

/// <summary>What a training checkpoint (<c>checkpoint.bin</c> in a trainer's <c>CheckpointFolder</c>) says about its run.</summary>
/// <param name="Kind">The model it belongs to (architecture and sizes).</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="BatchSize">The run's batch size.</param>
/// <param name="Steps">Steps completed when it was written; a resumed run continues from here.</param>
public sealed record TrainingCheckpointInfo(string Kind, int Seed, int BatchSize, long Steps)
{
    /// <summary>Reads the header of the checkpoint file at <paramref name="path"/> (the weights are not loaded).</summary>
    /// <param name="path">A <c>checkpoint.bin</c> file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a checkpoint of this version, or is truncated.</exception>
    public static TrainingCheckpointInfo Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        try
        {
            return TrainingCheckpoint.ReadHeader(reader, path);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"Checkpoint '{path}' is truncated.", e);
        }
    }
}
