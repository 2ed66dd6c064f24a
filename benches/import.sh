#!/usr/bin/env bash
# Import benchmark: 1,000,000 case rows, casewatch import vs the sqlite3 shell's .import.
set -euo pipefail
B=${B:-target/release/casewatch}
W=${W:-/tmp/bench}
mkdir -p "$W"
rm -f "$W"/demo.db* "$W"/target.db* "$W"/raw.db* "$W"/floor.db*
$B --as-of 2026-11-23 demo --cases 1000000 --db "$W/demo.db"
sqlite3 -header -csv "$W/demo.db" "SELECT code,name,region,ppf_status,rating,score,score_max,inspected_on FROM pdus" > "$W/pdus.csv"
sqlite3 -header -csv "$W/demo.db" "SELECT staff_code,name,grade,pdu,team,contracted_hours,start_date,status FROM practitioners" > "$W/practitioners.csv"
sqlite3 -header -csv "$W/demo.db" "SELECT crn,name,pdu,team,tier,rosh,mappa_category,mappa_level,case_type,sentence_date,release_date,allocated_to,allocated_on,unallocated_since FROM cases" > "$W/cases.csv"
wc -lc "$W/cases.csv"
$B --db "$W/target.db" import "$W/pdus.csv" --kind pdus
$B --db "$W/target.db" import "$W/practitioners.csv" --kind practitioners
cp "$W/target.db" "$W/floor.db"
T="%e s elapsed, %M KB max RSS"
echo "== casewatch import, 1M new cases";  /usr/bin/time -f "$T" $B --db "$W/target.db" import "$W/cases.csv" --kind cases
echo "== sqlite3 .import of the same file"; /usr/bin/time -f "$T" sqlite3 "$W/raw.db" ".import --csv $W/cases.csv cases_raw"
echo "== sqlite3 INSERT ... SELECT of those rows into the casewatch schema (no validation)"
/usr/bin/time -f "$T" sqlite3 "$W/floor.db" "PRAGMA foreign_keys=ON; PRAGMA cache_size=-262144; ATTACH '$W/raw.db' AS r;
  INSERT INTO cases (crn,name,pdu,team,tier,rosh,mappa_category,mappa_level,case_type,sentence_date,release_date,allocated_to,allocated_on,unallocated_since)
  SELECT crn,name,pdu,nullif(team,''),tier,nullif(rosh,''),mappa_category,mappa_level,case_type,sentence_date,nullif(release_date,''),nullif(allocated_to,''),nullif(allocated_on,''),nullif(unallocated_since,'') FROM r.cases_raw;"
echo "== casewatch re-import, all unchanged"; /usr/bin/time -f "$T" $B --db "$W/target.db" import "$W/cases.csv" --kind cases
echo "== casewatch --dry-run";             /usr/bin/time -f "$T" $B --db "$W/target.db" import "$W/cases.csv" --kind cases --dry-run
