import Foundation
import Files

/// One visual question: the question, its answer when the dataset has one, and the COCO image it is about.
public struct VisualQuestion: Equatable, Sendable {
    /// The question.
    public var question: String
    /// The answer, when the dataset has one.
    public var answer: String?
    /// The COCO image id.
    public var imageID: Int
    /// The dataset's question id (VQA v2).
    public var questionID: Int?
    /// A question about an image.
    public init(question: String, answer: String?, imageID: Int, questionID: Int? = nil) {
        self.question = question; self.answer = answer; self.imageID = imageID; self.questionID = questionID
    }
}

/// Readers for the two standard visual-question datasets, in their distributed formats, and the COCO image
/// files they refer to.
public enum VisualQuestions {
    /// Which dataset a folder holds.
    public enum Format: String, Sendable { case vqa2 = "VQA v2", cocoQA = "COCO-QA" }

    /// VQA v2: a questions file ({"questions": [{"image_id", "question", "question_id"}, ...]}, e.g.
    /// v2_OpenEnded_mscoco_val2014_questions.json) and optionally its annotations file ({"annotations":
    /// [{"question_id", "image_id", "multiple_choice_answer", "answers": [...]}, ...]}), whose
    /// multiple_choice_answer (the most common of the ten human answers) becomes the answer.
    public static func vqa2(questions: URL, annotations: URL?) throws -> [VisualQuestion] {
        let q = try jsonObject(questions)
        guard let list = q["questions"] as? [[String: Any]] else {
            throw DataError("\(questions.path): not a VQA questions file (no \"questions\" list)")
        }
        var answers: [Int: String] = [:]
        if let annotations {
            guard let a = try jsonObject(annotations)["annotations"] as? [[String: Any]] else {
                throw DataError("\(annotations.path): not a VQA annotations file (no \"annotations\" list)")
            }
            for (i, entry) in a.enumerated() {
                guard let id = entry["question_id"] as? Int, let answer = entry["multiple_choice_answer"] as? String
                else {
                    throw DataError(
                        "\(annotations.path): annotation \(i) lacks an integer question_id or a multiple_choice_answer")
                }
                answers[id] = answer
            }
        }
        return try list.enumerated().map { i, entry in
            guard let text = entry["question"] as? String, let image = entry["image_id"] as? Int else {
                throw DataError("\(questions.path): question \(i) lacks a question string or an integer image_id")
            }
            let id = entry["question_id"] as? Int
            return VisualQuestion(question: text, answer: id.flatMap { answers[$0] }, imageID: image, questionID: id)
        }
    }

    /// COCO-QA: a split folder with questions.txt, answers.txt and img_ids.txt, one entry per line and the same
    /// number of lines in each (types.txt, the question type, is not needed).
    public static func cocoQA(_ folder: URL) throws -> [VisualQuestion] {
        func lines(_ name: String) throws -> [Substring] {
            let url = folder.appendingPathComponent(name)
            let data = try DataError.contents(of: url)
            guard let text = String(data: data, encoding: .utf8) else { throw DataError("\(url.path): not UTF-8 text") }
            var l = text.split(separator: "\n", omittingEmptySubsequences: false)
            if l.last == "" { l.removeLast() }
            return l
        }
        let q = try lines("questions.txt"), a = try lines("answers.txt"), ids = try lines("img_ids.txt")
        guard q.count == a.count, q.count == ids.count else {
            throw DataError(
                """
                \(folder.path): questions.txt has \(q.count) lines, answers.txt \(a.count) and img_ids.txt \
                \(ids.count); they must match line for line
                """)
        }
        return try zip(q, zip(a, ids)).enumerated().map { i, entry in
            let raw = entry.1.1.trimmingCharacters(in: .whitespaces)
            guard let id = Int(raw), id >= 0 else {
                let file = folder.appendingPathComponent("img_ids.txt").path
                throw DataError("\(file):\(i + 1): '\(BoundedText.quote(raw))' is not an image id")
            }
            return VisualQuestion(
                question: entry.0.trimmingCharacters(in: .whitespaces),
                answer: entry.1.0.trimmingCharacters(in: .whitespaces), imageID: id)
        }
    }

    /// Whichever dataset `folder` holds: VQA v2 (a *questions*.json, with its *annotations*.json when present)
    /// or COCO-QA (questions.txt, answers.txt, img_ids.txt, directly or in a test/ or train/ subfolder).
    public static func load(_ folder: URL) throws -> (format: Format, questions: [VisualQuestion]) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        if let q = names.filter({ $0.hasSuffix(".json") && $0.contains("questions") }).sorted().first {
            let a = names.filter { $0.hasSuffix(".json") && $0.contains("annotations") }.sorted().first
            return (
                .vqa2,
                try vqa2(
                    questions: folder.appendingPathComponent(q),
                    annotations: a.map { folder.appendingPathComponent($0) })
            )
        }
        for sub in ["", "test", "train"] {
            let dir = sub.isEmpty ? folder : folder.appendingPathComponent(sub)
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("questions.txt").path) {
                return (.cocoQA, try cocoQA(dir))
            }
        }
        throw DataError(
            """
            \(folder.path): no VQA v2 questions file (*questions*.json) and no COCO-QA questions.txt (also looked \
            in test/ and train/)
            """)
    }

    /// The COCO image with this id under `folder` (searched one level deep): COCO 2014's
    /// COCO_<split>2014_<12-digit id>.jpg or COCO 2017's <12-digit id>.jpg.
    public static func imageFile(id: Int, in folder: URL) -> URL? {
        let digits = String(format: "%012d", id)
        let dirs =
            [folder]
            + ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted().map {
                folder.appendingPathComponent($0)
            }
        for dir in dirs {
            for name in [
                "COCO_val2014_\(digits).jpg", "COCO_train2014_\(digits).jpg", "COCO_test2015_\(digits).jpg",
                "\(digits).jpg"
            ] {
                let url = dir.appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: url.path) { return url }
            }
        }
        return nil
    }

    static func jsonObject(_ url: URL) throws -> [String: Any] {
        let data = try DataError.contents(of: url)
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw DataError("\(url.path): expected a JSON object at the top level")
            }
            return object
        } catch let e as DataError { throw e } catch {
            throw DataError("\(url.path): not valid JSON (\(error.localizedDescription))")
        }
    }
}
