package dev.cloister.seal;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * Walks a model directory without following links: collects the regular files that are not ignored and reports
 * every symbolic link, special file or unreadable path at once.
 */
final class ModelFiles {

    private ModelFiles() {
    }

    /** Every regular file below {@code root} that is not ignored, as relative POSIX paths in path order. */
    static List<String> list(Path root, IgnorePaths ignore) throws SealException {
        List<String> files = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        try {
            // No FOLLOW_LINKS: a symbolic link (to a file or a directory) is visited as itself and reported.
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    return dir.equals(root) || !ignore.covers(relative(root, dir))
                            ? FileVisitResult.CONTINUE : FileVisitResult.SKIP_SUBTREE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    String name = relative(root, file);
                    if (ignore.covers(name)) {
                        return FileVisitResult.CONTINUE;
                    }
                    if (attrs.isSymbolicLink()) {
                        problems.add("symbolic link not allowed in a model: " + name);
                    } else if (!attrs.isRegularFile()) {
                        problems.add("not a regular file: " + name);
                    } else {
                        files.add(name);
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    problems.add("cannot read " + relative(root, file) + ": " + e.getClass().getSimpleName());
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new SealException("cannot walk the model directory " + root + ": " + e.getMessage(), e);
        }
        if (!problems.isEmpty()) {
            throw new SealException(problems);
        }
        files.sort(PathOrder.INSTANCE);
        return files;
    }

    private static String relative(Path root, Path path) {
        Path rel = root.relativize(path);
        StringBuilder out = new StringBuilder();
        for (Path part : rel) {
            if (out.length() > 0) {
                out.append('/');
            }
            out.append(part);
        }
        return out.toString();
    }
}
