-- Who may see one instance, read by the instance: its agencies on a search hit, its parties
-- checked against its history. The primary key serves lookups by agency only, so without
-- this every such read scanned the whole table (see BENCHMARKS.md, "Search at national
-- volume").
CREATE INDEX instance_agencies_by_instance ON instance_agencies (instance_id, agency_code);
