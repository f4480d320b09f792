"""Scanned papers: the type judged by the bytes, the size limit, storage by sha256, and integrity."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import docx
import pytest

from services.core.errors import InvalidInput
from services.platform.attachments import (
    ALLOWED,
    MAX_BYTES,
    NOT_ALLOWED,
    TEMPORARY,
    TOO_LARGE,
    EncryptReport,
    FileStore,
    StoredFile,
    Upload,
    check_announced,
    encrypt_in_place,
    type_of_content,
)
from services.platform.sealing import is_sealed_file

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(16) + b"\xff\xd9"


def real_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("Quyết định tuyển dụng")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def zip_without_document() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a Word document")
    return buffer.getvalue()


def refusal(store: FileStore, upload: Upload) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        store.put(upload)
    assert refused.value.field == "attachment"
    return refused.value


def test_a_pdf_is_stored_under_its_sha256(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    stored = store.put(Upload("quyet-dinh.pdf", PDF))
    sha = hashlib.sha256(PDF).hexdigest()
    assert stored == StoredFile(sha, "quyet-dinh.pdf", "application/pdf", len(PDF))
    assert store.path_of(sha) == tmp_path / sha[:2] / sha
    assert (tmp_path / sha[:2] / sha).read_bytes() == PDF
    assert store.read(sha) == PDF


def test_the_same_bytes_twice_are_one_file(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    first = store.put(Upload("a.pdf", PDF))
    second = store.put(Upload("ban-sao.PDF", PDF))
    assert first.sha256 == second.sha256 == hashlib.sha256(PDF).hexdigest()
    assert second.file_name == "ban-sao.PDF"
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert files == [store.path_of(first.sha256)]  # no second copy and no temporary file left behind


def test_the_stored_name_drops_any_folder_the_sender_gave(tmp_path: Path) -> None:
    stored = FileStore(tmp_path).put(Upload("../../etc/quyet-dinh.pdf", PDF))
    assert stored.file_name == "quyet-dinh.pdf"


@pytest.mark.parametrize(("name", "content", "kind"), [
    ("anh-the.png", PNG, "png"),
    ("anh-the.jpg", JPEG, "jpg"),
    ("anh-the.JPEG", JPEG, "jpg"),
])
def test_images_by_their_magic_bytes(tmp_path: Path, name: str, content: bytes, kind: str) -> None:
    assert type_of_content(content) == kind
    stored = FileStore(tmp_path).put(Upload(name, content))
    assert stored.content_type == ALLOWED[kind][1]
    assert stored.size == len(content)


def test_type_of_content() -> None:
    assert type_of_content(PDF) == "pdf"
    assert type_of_content(real_docx()) == "docx"
    assert type_of_content(zip_without_document()) is None
    assert type_of_content(b"PK\x03\x04 truncated, not a zip") is None
    assert type_of_content(b"MZ\x90\x00\x03") is None  # a Windows executable
    assert type_of_content(b"") is None


def test_a_real_docx_is_accepted(tmp_path: Path) -> None:
    content = real_docx()
    stored = FileStore(tmp_path).put(Upload("so-yeu-ly-lich.docx", content))
    assert stored.content_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert stored.sha256 == hashlib.sha256(content).hexdigest()


def test_a_zip_named_docx_is_refused(tmp_path: Path) -> None:
    refused = refusal(FileStore(tmp_path), Upload("so-yeu-ly-lich.docx", zip_without_document()))
    assert refused.message == NOT_ALLOWED
    assert refused.params == {"name": "so-yeu-ly-lich.docx"}
    assert not any(tmp_path.iterdir())


def test_an_announced_size_over_20_mb_is_refused() -> None:
    check_announced("a.pdf", MAX_BYTES)  # exactly 20 MB is allowed
    check_announced("a.pdf", None)       # Telegram may not announce a size
    with pytest.raises(InvalidInput) as refused:
        check_announced("a.pdf", 20 * 1024 * 1024 + 1)
    assert refused.value.field == "attachment"
    assert refused.value.message == TOO_LARGE


def test_oversize_bytes_are_refused(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    oversize = PDF + bytes(MAX_BYTES + 1 - len(PDF))
    assert len(oversize) == 20 * 1024 * 1024 + 1
    with pytest.raises(InvalidInput) as refused:
        store.check(Upload("scan.pdf", oversize))
    assert refused.value.field == "attachment"
    assert refused.value.message == TOO_LARGE
    assert refusal(store, Upload("scan.pdf", oversize)).message == TOO_LARGE
    assert not any(tmp_path.iterdir())


def test_an_executable_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as announced:
        check_announced("setup.exe", 1024)
    assert announced.value.field == "attachment"
    assert announced.value.message == NOT_ALLOWED
    assert announced.value.params == {"name": "setup.exe"}
    # Even with PDF bytes inside, the name is not one that may be attached.
    assert refusal(FileStore(tmp_path), Upload("setup.exe", PDF)).message == NOT_ALLOWED


def test_content_and_name_must_agree(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    renamed_pdf = refusal(store, Upload("photo.png", PDF))
    assert renamed_pdf.message == NOT_ALLOWED
    assert renamed_pdf.params == {"name": "photo.png"}
    assert refusal(store, Upload("quyet-dinh.pdf", b"MZ\x90\x00 renamed executable")).message == NOT_ALLOWED
    assert refusal(store, Upload("anh.jpg", PNG)).message == NOT_ALLOWED
    assert not any(tmp_path.iterdir())


def test_the_size_is_refused_before_the_type() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_announced("setup.exe", MAX_BYTES + 1)
    assert refused.value.message == TOO_LARGE


def test_read_refuses_a_file_altered_on_disk(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    sha = store.put(Upload("a.pdf", PDF)).sha256
    assert store.read(sha) == PDF
    store.path_of(sha).write_bytes(PDF + b"% tampered\n")
    with pytest.raises(OSError, match=sha):
        store.read(sha)


def test_read_of_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        FileStore(tmp_path).read(hashlib.sha256(b"never stored").hexdigest())


STORAGE_KEY = b"storage-key-for-the-tests-0123456789"


def test_a_paper_sealed_at_rest_reads_back_byte_identical_and_is_stored_once(tmp_path: Path) -> None:
    store = FileStore(tmp_path, STORAGE_KEY)
    stored = store.put(Upload("quyet-dinh.pdf", PDF))
    assert store.put(Upload("ban-sao.pdf", PDF)).sha256 == stored.sha256 == hashlib.sha256(PDF).hexdigest()
    on_disk = store.path_of(stored.sha256).read_bytes()
    assert is_sealed_file(on_disk) and PDF not in on_disk and b"Catalog" not in on_disk
    assert store.read(stored.sha256) == PDF
    assert store.stored() == [stored.sha256]
    with pytest.raises(OSError, match="HOSO_STORAGE_KEY is not set"):
        FileStore(tmp_path).read(stored.sha256)
    with pytest.raises(OSError, match="does not open"):
        FileStore(tmp_path, b"another-storage-key-0123456789abcdef").read(stored.sha256)


def test_a_sealed_paper_altered_on_disk_is_refused(tmp_path: Path) -> None:
    store = FileStore(tmp_path, STORAGE_KEY)
    sha = store.put(Upload("a.pdf", PDF)).sha256
    sealed = bytearray(store.path_of(sha).read_bytes())
    sealed[-1] ^= 0x01
    store.path_of(sha).write_bytes(bytes(sealed))
    with pytest.raises(OSError, match=sha):
        store.read(sha)
    # Another sealed paper put in its place does not stand in for it either.
    other = store.put(Upload("b.png", PNG)).sha256
    store.path_of(sha).write_bytes(store.path_of(other).read_bytes())
    with pytest.raises(OSError, match=sha):
        store.read(sha)


def test_encrypting_a_store_interrupted_halfway_and_run_again_ends_complete(tmp_path: Path) -> None:
    plain = FileStore(tmp_path)
    papers = {plain.put(Upload(f"scan-{n}.pdf", PDF + f"% {n}\n".encode())).sha256: PDF + f"% {n}\n".encode()
              for n in range(10)}
    (tmp_path / "web-downloads").mkdir()
    (tmp_path / "web-downloads" / "bao-cao.docx").write_bytes(b"not a paper of the store")
    sealed = FileStore(tmp_path, STORAGE_KEY)
    done: list[str] = []

    def stop_halfway(digest: str) -> None:
        done.append(digest)
        if len(done) == 5:
            # What a crash leaves: the next file half written under its temporary name.
            nxt = sorted(set(papers) - set(done))[0]
            (sealed.path_of(nxt).parent / f"{TEMPORARY}crash").write_bytes(b"HOSOENC\x01 half")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        encrypt_in_place(sealed, stop_halfway)
    on_disk = {digest: sealed.path_of(digest).read_bytes() for digest in papers}
    assert sum(is_sealed_file(data) for data in on_disk.values()) == 5
    assert all(sealed.read(digest) == content for digest, content in papers.items())  # readable meanwhile
    report = encrypt_in_place(sealed)
    assert (report.encrypted, report.already, report.damaged) == (5, 5, [])
    assert sorted(sealed.stored()) == sorted(papers)
    assert all(is_sealed_file(sealed.path_of(digest).read_bytes()) for digest in papers)
    assert all(sealed.read(digest) == content for digest, content in papers.items())
    assert not list(tmp_path.glob(f"??/{TEMPORARY}*"))
    assert (tmp_path / "web-downloads" / "bao-cao.docx").read_bytes() == b"not a paper of the store"
    assert encrypt_in_place(sealed) == EncryptReport(0, 10, [])


def test_encrypting_leaves_an_altered_plain_file_and_names_it(tmp_path: Path) -> None:
    plain = FileStore(tmp_path)
    sha = plain.put(Upload("a.pdf", PDF)).sha256
    plain.path_of(sha).write_bytes(PDF + b"% tampered\n")
    report = encrypt_in_place(FileStore(tmp_path, STORAGE_KEY))
    assert report.damaged == [sha] and report.encrypted == 0
    assert plain.path_of(sha).read_bytes() == PDF + b"% tampered\n"
