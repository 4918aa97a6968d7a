using Aigc.MLNet.Onnx.Tokenization;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Onnx.Tests.Tokenization;

[TestClass]
public sealed class AutoTokenizerTests
{
    private static string NewFolder()
    {
        string folder = Path.Combine(Path.GetTempPath(), "aigc-autotokenizer-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    }

    [TestMethod]
    public void Gpt2Folder_LoadsByteLevelBpe()
    {
        string folder = NewFolder();
        try
        {
            File.Copy(TokenizationTestData.Gpt2VocabPath, Path.Combine(folder, "vocab.json"));
            File.Copy(TokenizationTestData.Gpt2MergesPath, Path.Combine(folder, "merges.txt"));
            Tokenizer tokenizer = AutoTokenizer.FromFolder(folder);
            Assert.IsInstanceOfType<BpeTokenizer>(tokenizer);
            CollectionAssert.AreEqual(new[] { 15496, 995, 50256 }, tokenizer.EncodeToIds("Hello world<|endoftext|>").ToArray());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void CharFolder_RoundTripsThroughSaveToFolder()
    {
        string folder = NewFolder();
        try
        {
            var original = CharTokenizer.FromCorpus("First Citizen:\nBefore we proceed", unknownTokenId: 1);
            original.SaveToFolder(folder);
            StringAssert.Contains(File.ReadAllText(Path.Combine(folder, "tokenizer_config.json")), "AigcCharTokenizer");
            var loaded = (CharTokenizer)AutoTokenizer.FromFolder(folder);
            Assert.AreEqual(original.VocabularySize, loaded.VocabularySize);
            Assert.AreEqual(1, loaded.UnknownTokenId);
            CollectionAssert.AreEqual(original.EncodeToIds("Citizen, proceed!").ToArray(), loaded.EncodeToIds("Citizen, proceed!").ToArray());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void CharVocabularyWithoutConfig_IsDetectedFromSingleCharacterKeys()
    {
        string folder = NewFolder();
        try
        {
            CharTokenizer.FromCorpus("abc").Save(Path.Combine(folder, "vocab.json"));
            Assert.IsInstanceOfType<CharTokenizer>(AutoTokenizer.FromFolder(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void UnsupportedFolders_ListExpectedFiles()
    {
        string folder = NewFolder();
        try
        {
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"), "{}");
            var none = Assert.ThrowsExactly<FileNotFoundException>(() => AutoTokenizer.FromFolder(folder));
            StringAssert.Contains(none.Message, "vocab.json");
            StringAssert.Contains(none.Message, "merges.txt");
            StringAssert.Contains(none.Message, "tokenizer.json"); // what was found

            File.WriteAllText(Path.Combine(folder, "vocab.json"), "{\"hello\": 0, \"a\": 1}");
            var bpeWithoutMerges = Assert.ThrowsExactly<FileNotFoundException>(() => AutoTokenizer.FromFolder(folder));
            StringAssert.Contains(bpeWithoutMerges.Message, "merges.txt");

            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), "{\"tokenizer_class\": \"AigcCharTokenizer\"}");
            Assert.ThrowsExactly<InvalidDataException>(() => AutoTokenizer.FromFolder(folder));

            Assert.ThrowsExactly<DirectoryNotFoundException>(() => AutoTokenizer.FromFolder(Path.Combine(folder, "missing")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
