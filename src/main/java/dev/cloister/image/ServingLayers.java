package dev.cloister.image;

import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.FileEntry;
import com.google.cloud.tools.jib.api.buildplan.FilePermissions;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.TreeSet;

/**
 * The two layers Cloister adds to the serving base: the sealed model at {@code /model} and the serving code at
 * {@code /opt/cloister/serving}. Every entry is owned by root, files are 0644 and directories 0755 (the runtime
 * user 65534 can read the model but not change it), and every timestamp is Jib's fixed epoch + 1 s, so the layers
 * depend on file content and names only.
 */
final class ServingLayers {

    static final AbsoluteUnixPath MODEL_PATH = AbsoluteUnixPath.get("/model");
    static final AbsoluteUnixPath SERVING_PATH = AbsoluteUnixPath.get("/opt/cloister/serving");
    static final String SERVE_SCRIPT = "serve.py";
    static final List<String> ENTRYPOINT = List.of("/usr/bin/tini", "--", "python3",
            SERVING_PATH.resolve(SERVE_SCRIPT).toString());
    static final String USER = "65534:65534";
    static final int PORT = 8080;

    static final FilePermissions FILE_MODE = FilePermissions.fromOctalString("644");
    static final FilePermissions DIRECTORY_MODE = FilePermissions.fromOctalString("755");
    static final String OWNERSHIP = "0:0";
    static final Instant MODIFICATION_TIME = FileEntriesLayer.DEFAULT_MODIFICATION_TIME;

    private ServingLayers() {
    }

    static FileEntriesLayer model(SealedModelDir model) {
        return layer("model", model.root(), model.files(), MODEL_PATH);
    }

    static FileEntriesLayer servingCode(Path root, List<String> files) {
        return layer("serving-code", root, files, SERVING_PATH);
    }

    /**
     * One layer holding {@code files} (relative POSIX paths under {@code root}) at {@code target}, with an explicit
     * entry for every directory from {@code target}'s parent down, so no directory takes a default mode.
     */
    static FileEntriesLayer layer(String name, Path root, List<String> files, AbsoluteUnixPath target) {
        TreeSet<String> directories = new TreeSet<>();
        String prefix = "";
        for (String part : target.toString().substring(1).split("/")) {
            prefix = prefix + "/" + part;
            directories.add(prefix);
        }
        for (String file : files) {
            String[] parts = file.split("/");
            AbsoluteUnixPath dir = target;
            for (int i = 0; i < parts.length - 1; i++) {
                dir = dir.resolve(parts[i]);
                directories.add(dir.toString());
            }
        }
        FileEntriesLayer.Builder layer = FileEntriesLayer.builder().setName(name);
        // A directory entry's source only tells Jib that it is a directory; its content is not read.
        for (String dir : directories) {
            layer.addEntry(new FileEntry(root, AbsoluteUnixPath.get(dir), DIRECTORY_MODE, MODIFICATION_TIME, OWNERSHIP));
        }
        for (String file : files) {
            layer.addEntry(new FileEntry(root.resolve(file), target.resolve(file), FILE_MODE, MODIFICATION_TIME,
                    OWNERSHIP));
        }
        return layer.build();
    }
}
