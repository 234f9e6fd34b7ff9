package dev.cloister.audit;

import io.agroal.api.AgroalDataSource;
import io.quarkus.arc.Arc;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** The audit log's lines as the service's database holds them, read with plain JDBC rather than the log's own code. */
public final class StoredAudit {

    private StoredAudit() {
    }

    public static List<String> lines() throws Exception {
        AgroalDataSource db = Arc.container().instance(AgroalDataSource.class).get();
        List<String> lines = new ArrayList<>();
        try (Connection c = db.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select line from audit_entries order by seq")) {
            while (rs.next()) {
                lines.add(rs.getString(1));
            }
        }
        return lines;
    }
}
