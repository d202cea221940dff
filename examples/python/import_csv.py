#!/usr/bin/env python3
"""Import teachers from a CSV file through the registry's ImportTeachers stream.

    python3 import_csv.py [--server host:port] [--mode create-only|upsert] FILE.csv

A minimal example for script authors, not the tool for staff's spreadsheets: it reads only
UTF-8 CSV with the English column names below, one value form per column. For the files
HR staff have (GBK or UTF-8 CSV as Chinese spreadsheet software saves it, Chinese column
names such as 身份证件号码, XLSX, dates like 1990年1月5日, 男/女), use the command line:
`teacher-registry import FILE --server http://host:port`. This script says so, and stops,
when it meets such a file.

The CSV is UTF-8 with a header row naming the Teacher fields of
proto/teacher_registry/v1/teacher.proto: id_document_type, national_id, name, gender,
birth_date, county_code, school, employment_status, legacy_title,
legacy_title_limited_scope. Enum columns hold the value's suffix (RESIDENT_ID_CARD,
FEMALE, ACTIVE, PRIMARY_SENIOR); a blank id_document_type means RESIDENT_ID_CARD, a blank
legacy_title means none; legacy_title_limited_scope is true/false (blank: false).

Rows are read lazily and streamed, so a file of any size runs in flat memory. The server
answers every row in order once it is on disk; the script prints one line per rejected
row (CSV line, error code, message, field violations), then a summary, and exits 1 if
any row was rejected, 0 otherwise (2 if the file or the stream failed). Rows answered
before a failure are in the registry: run the file again with --mode upsert to finish.

The Python stubs are not checked in: each run compiles ../../proto (relative to this
script) with grpc_tools.protoc into a temporary directory, with the well-known types
(google/protobuf/*.proto) bundled in grpc_tools/_proto, and imports them from there. A
rejected row's answer is a google.rpc.Status (proto/google/rpc/, compiled with the rest),
its field violations in a google.rpc.BadRequest among its details.
Requirements: pip install -r requirements.txt (grpcio, grpcio-tools).
"""

import argparse
import csv
import importlib
import importlib.resources
import sys
import tempfile
import threading
from collections import Counter, deque
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import grpc
from grpc_tools import protoc

PROTO_DIR = Path(__file__).resolve().parent.parent.parent / "proto"
COLUMNS = ("id_document_type", "national_id", "name", "gender", "birth_date", "county_code",
           "school", "employment_status", "legacy_title", "legacy_title_limited_scope")
BLANK_ENUM = {"id_document_type": "RESIDENT_ID_CARD", "legacy_title": "UNSPECIFIED"}
# Rows sent but not answered yet: a bound, so the script's memory stays flat however
# long the file. (The server bounds what it accepts ahead too, with small HTTP/2 flow-
# control windows; see src/server.rs.)
MAX_IN_FLIGHT = 128
# What the script says, after a file it cannot read, about the tool that can.
USE_THE_CLI = ("this example reads only UTF-8 CSV with English column names; "
               "`teacher-registry import FILE` reads GBK, Chinese column names and XLSX")
BOOLEANS = {"": False, "false": False, "no": False, "0": False,
            "true": True, "yes": True, "1": True}


def load_stubs() -> tuple[ModuleType, ModuleType, ModuleType]:
    """Compiles the registry's protos and returns (messages, gRPC stubs, google.rpc error
    details) modules."""
    well_known = str(importlib.resources.files("grpc_tools") / "_proto")
    protos = [str(p.relative_to(PROTO_DIR)) for p in sorted(PROTO_DIR.rglob("*.proto"))]
    with tempfile.TemporaryDirectory(prefix="teacher-registry-stubs-") as out:
        args = ["protoc", f"-I{PROTO_DIR}", f"-I{well_known}",
                f"--python_out={out}", f"--grpc_python_out={out}", *protos]
        if protoc.main(args) != 0:
            sys.exit(f"error: grpc_tools.protoc could not compile {PROTO_DIR}")
        sys.path.insert(0, out)
        try:  # Imported modules stay loaded after the directory is gone.
            return (importlib.import_module("teacher_registry.v1.registry_service_pb2"),
                    importlib.import_module("teacher_registry.v1.registry_service_pb2_grpc"),
                    importlib.import_module("google.rpc.error_details_pb2"))
        finally:
            sys.path.remove(out)


def fill_teacher(teacher: Any, row: dict[str, str]) -> list[str]:
    """Sets the Teacher's fields from one CSV row; returns the row's own violations."""
    violations = []
    for column in COLUMNS:
        value = (row.get(column) or "").strip()
        field = teacher.DESCRIPTOR.fields_by_name[column]
        if field.enum_type is not None:
            # The values are named like ID_DOCUMENT_TYPE_UNSPECIFIED, ID_DOCUMENT_TYPE_<suffix>.
            prefix = field.enum_type.values_by_number[0].name.removesuffix("UNSPECIFIED")
            value = value.upper() or BLANK_ENUM.get(column, "UNSPECIFIED")
            known = field.enum_type.values_by_name.get(prefix + value)
            if known is None:
                violations.append(f"teacher.{column}: unknown value {value!r}")
            else:
                setattr(teacher, column, known.number)
        elif field.type == field.TYPE_BOOL:
            if value.lower() not in BOOLEANS:
                violations.append(f"teacher.{column}: {value!r} is not true or false")
            setattr(teacher, column, BOOLEANS.get(value.lower(), False))
        else:
            setattr(teacher, column, value)
    return violations


def code_name(code: int) -> str:
    """A gRPC code's canonical name, e.g. INVALID_ARGUMENT."""
    return next((c.name for c in grpc.StatusCode if c.value[0] == code), str(code))


def field_violations(details_pb2: ModuleType, status: Any) -> list[str]:
    """The "field: problem" lines of the google.rpc.BadRequest among a status's details."""
    violations = []
    for detail in status.details:
        bad_request = details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            violations += [f"{v.field}: {v.description}" for v in bad_request.field_violations]
    return violations


def import_rows(pb2: ModuleType, details_pb2: ModuleType, stub: Any, reader: csv.DictReader,
                mode: int) -> Counter:
    """Streams the rows, prints the rejected ones and returns the outcome counts."""
    counts = Counter(created=0, updated=0, unchanged=0, rejected=0, read_errors=0)
    # (CSV line, the row's own violations) of every row read, oldest first. The server
    # answers the rows it is sent in order, so each answer is for the first row sent.
    pending: deque[tuple[int, list[str]]] = deque()
    in_flight = threading.Semaphore(MAX_IN_FLIGHT)

    def requests() -> Iterator[Any]:  # Runs on grpcio's sending thread, a row at a time.
        try:
            for row in reader:
                request = pb2.ImportTeachersRequest(mode=mode)
                violations = fill_teacher(request.teacher, row)
                pending.append((reader.line_num, violations))
                if not violations:
                    in_flight.acquire()
                    yield request
        except (UnicodeDecodeError, csv.Error) as error:  # Ends the stream cleanly.
            print(f"error: after CSV line {reader.line_num}: {error}", file=sys.stderr)
            if isinstance(error, UnicodeDecodeError):
                print(USE_THE_CLI, file=sys.stderr)
            counts["read_errors"] += 1

    def reject(line: int, code: str, message: str, violations: list[str]) -> None:
        counts["rejected"] += 1
        print(f"line {line}: {code}: {message}" + "".join(f"\n    {v}" for v in violations))

    def reject_bad_rows() -> None:
        while pending and pending[0][1]:
            line, violations = pending.popleft()
            reject(line, "INVALID_ARGUMENT", "bad values in the CSV row", violations)

    try:
        for answer in stub.ImportTeachers(requests()):
            in_flight.release()
            reject_bad_rows()
            line, _ = pending.popleft()
            outcome = pb2.ImportOutcome.Name(answer.outcome).removeprefix("IMPORT_OUTCOME_")
            if outcome == "REJECTED":
                status = answer.status  # a google.rpc.Status, as CreateTeacher's refusal
                reject(line, code_name(status.code), status.message,
                       field_violations(details_pb2, status))
            else:
                counts[outcome.lower()] += 1
    finally:  # Lets the sending thread finish if the stream broke.
        in_flight.release(MAX_IN_FLIGHT)
    reject_bad_rows()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="the CSV file (UTF-8, header row)")
    parser.add_argument("--server", default="127.0.0.1:50051", help="host:port")
    parser.add_argument("--mode", choices=("create-only", "upsert"), default="create-only")
    args = parser.parse_args()
    pb2, pb2_grpc, details_pb2 = load_stubs()
    mode = pb2.ImportMode.Value("IMPORT_MODE_" + args.mode.upper().replace("-", "_"))
    try:
        with args.file.open(encoding="utf-8-sig", newline="") as file, \
                grpc.insecure_channel(args.server) as channel:
            reader = csv.DictReader(file)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                print(f"error: {args.file}: no column {', '.join(missing)}\n{USE_THE_CLI}",
                      file=sys.stderr)
                return 2
            stub = pb2_grpc.TeacherRegistryServiceStub(channel)
            counts = import_rows(pb2, details_pb2, stub, reader, mode)
    except UnicodeDecodeError as error:  # GBK, most often: what Excel saves in China.
        print(f"error: {args.file} is not UTF-8 ({error})\n{USE_THE_CLI}", file=sys.stderr)
        return 2
    except (OSError, csv.Error) as error:
        print(f"error: {args.file}: {error}", file=sys.stderr)
        return 2
    except grpc.RpcError as error:  # The rows answered before it are in the registry.
        print(f"error: the import stopped: {error.code().name}: {error.details()}\n"
              "Run it again with --mode upsert to finish it.", file=sys.stderr)
        return 2
    read_errors = counts.pop("read_errors")
    print("summary: " + ", ".join(f"{name} {n}" for name, n in counts.items()))
    return 2 if read_errors else 1 if counts["rejected"] else 0


if __name__ == "__main__":
    sys.exit(main())
