// The `normout` command line, run as a separate process: exit codes and messages for bad
// input, a real training run, Ctrl-C, `info`, and `data fetch` against a local HTTP server.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <atomic>
#include <filesystem>
#include <thread>

#include "engine/data/md5.h"
#include "engine/runfile/run_file.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"
#include "support/tiny_run.h"

using namespace normout;
namespace fs = std::filesystem;
using Result = normout::test::ProcessResult;

namespace {

// Serves one file over HTTP/1.0 on 127.0.0.1 until destroyed; other paths get 404.
class TinyHttpServer {
  public:
    TinyHttpServer(std::string path, std::string body) : path_(std::move(path)), body_(std::move(body)) {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        listen(fd_, 8);
        socklen_t len = sizeof addr;
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~TinyHttpServer() {
        stop_ = true;
        shutdown(fd_, SHUT_RDWR);
        close(fd_);
        thread_.join();
    }
    QString url(const std::string& path) const {
        return QString("http://127.0.0.1:%1%2").arg(port_).arg(QString::fromStdString(path));
    }

  private:
    void serve() {
        while (!stop_) {
            const int c = accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            char buf[4096];
            const ssize_t n = read(c, buf, sizeof buf - 1);
            std::string req(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
            const bool ok = req.rfind("GET " + path_ + " ", 0) == 0;
            const std::string head =
                ok ? "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(body_.size()) + "\r\n\r\n"
                   : std::string("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
            std::string reply = head + (ok ? body_ : "");
            std::size_t sent = 0;
            while (sent < reply.size()) {
                const ssize_t w = write(c, reply.data() + sent, reply.size() - sent);
                if (w <= 0) break;
                sent += static_cast<std::size_t>(w);
            }
            close(c);
        }
    }
    std::string path_, body_;
    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace

class TestCli : public QObject {
    Q_OBJECT

    normout::test::CliRunner cli_;

    Result run(const QStringList& args) const { return cli_.run(args); }

    // A 1-epoch run of the quick preset's net at 1/16 width on 512 images.
    static QStringList tiny(const QString& out, int epochs = 1) {
        return QStringList{"train", "--preset", "quick"} + normout::test::TinyRun().epochs(epochs).args() +
               QStringList{"--out", out};
    }

  private Q_SLOTS:
    void initTestCase() { QVERIFY2(cli_.exists(), "NORMOUT_CLI must point at the normout binary"); }

    void versionAndHelp() {
        const Result v = run({"--version"});
        QCOMPARE(v.code, 0);
        QVERIFY(v.out.contains("LibTorch") && v.out.contains("HDF5") && v.out.contains("CUDA"));
        for (const char* cmd : {"train", "layers", "presets", "info", "bench", "settings", "config"}) {
            const Result h = run({cmd, "--help"});
            QCOMPARE(h.code, 0);
            QVERIFY2(h.out.contains("Usage") || h.out.contains("OPTIONS"), cmd);
        }
        const Result f = run({"data", "fetch", "--help"});
        QCOMPARE(f.code, 0);
        QVERIFY(run({}).code != 0);  // a command is required
    }

    void presetsAndLayers() {
        const Result p = run({"presets"});
        QCOMPARE(p.code, 0);
        QVERIFY(p.out.contains("thesis/temporal-softmax-48-51-T100"));
        QVERIFY(p.out.contains("thesis/spatiotemporal-softmax-1-4-T80"));
        QVERIFY(p.out.contains("97.13 / 92.58"));
        // The future work, with its section, in the same columns.
        QVERIFY(p.out.contains(QRegularExpression(R"(\nfuture/pgd-at-temporal-softmax-48-51\s+4\.3\.1\s+PGD)")));
        QVERIFY(p.out.contains(QRegularExpression(R"(\nfuture/vit-small-temporal-softmax\s+4\.3\.3\s)")));
        const Result r = run({"layers", "--set", "model.arch=resnet18"});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains("11173962 parameters"));
        QVERIFY(r.out.contains(QRegularExpression(R"(\n\s+25\s+25\s+Add\s+Add\(shortcut=)")));
        const Result l = run({"layers"});
        QCOMPARE(l.code, 0);
        QVERIFY(l.out.contains(QRegularExpression(R"(\n\s+48\s+48\s+Dropout\s+Dropout\(p=0\.5\))")));
        QVERIFY(l.out.contains(
            QRegularExpression(R"(\n\s+46\s+46\s+Linear\s+Linear\(in_features=25088, out_features=4096)")));
        const Result s = run({"layers", "--preset", "thesis/spatialmax-48"});
        QVERIFY(s.out.contains(QRegularExpression(R"(\n\s+48\s+48\s+NormOut\s+NormOut\(spatial-max\))")));
        const Result j = run({"layers", "--json", "--set", "data.dataset=fashion-mnist"});
        QCOMPARE(j.code, 0);
        QVERIFY(j.out.contains("\"output_shape\""));
    }

    void configFilesOverlayPresets() {
        const QString file = qEnvironmentVariable("NORMOUT_SOURCE_DIR") + "/resources/configs/cifar10-reduced.json";
        const Result r = run({"config", "--preset", "thesis/baseline", "--config", file, "--set", "train.seed=7"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QCOMPARE(o["model"].toObject()["width"].toDouble(), 0.25);
        QCOMPARE(o["train"].toObject()["epochs"].toInt(), 10);
        QCOMPARE(o["train"].toObject()["seed"].toInt(), 7);
        QCOMPARE(o["train"].toObject()["lr"].toDouble(), 0.01);  // from the preset
        QCOMPARE(o["preset"].toString(), QString("thesis/baseline"));
        // The printed configuration is itself a valid configuration file.
        QTemporaryDir dir;
        normout::test::write_bytes(dir.path().toStdString() + "/c.json", r.out.toStdString());
        const Result again = run({"config", "--config", dir.path() + "/c.json"});
        QCOMPARE(again.out, r.out);
    }

    void badInputIsAClearErrorNotACrash_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("unknown preset") << QStringList{"train", "--preset", "nope", "--out", "x.h5"}
                                        << "unknown preset 'nope'";
        QTest::newRow("negative lr") << QStringList{"train", "--set", "train.lr=-1", "--out", "x.h5"}
                                     << "train.lr: must be > 0";
        QTest::newRow("unknown key") << QStringList{"train", "--set", "train.speed=2", "--out", "x.h5"}
                                     << "train.speed";
        QTest::newRow("bad index") << QStringList{"train", "--set", R"(model.surgery=[{"op":"remove","at":[60]}])",
                                                  "--out", "x.h5"}
                                   << "index 60 is not in the model";
        QTest::newRow("T <= 0")
            << QStringList{"train",
                           "--preset",
                           "thesis/temporal-softmax-48-51-T10",
                           "--set",
                           R"(model.surgery=[{"op":"replace","at":[48],"layer":{"type":"normout","variant":"temporal-softmax","temperature":-2}}])",
                           "--out",
                           "x.h5"}
            << "temperature: must be > 0";
        QTest::newRow("no cifar") << QStringList{"train", "--preset", "thesis/baseline", "--out", "x.h5"}
                                  << "normout data fetch cifar10";
        QTest::newRow("missing info file") << QStringList{"info", "nowhere.h5"} << "nowhere.h5: file not found";
        QTest::newRow("missing out") << QStringList{"train", "--preset", "quick"} << "--out";
    }
    void badInputIsAClearErrorNotACrash() {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        const Result r = run(args);
        QVERIFY2(r.code > 0 && r.code < 128, qPrintable(QString("exit %1").arg(r.code)));
        QVERIFY2(r.err.contains(message) || r.out.contains(message), qPrintable(r.err + r.out));
        QVERIFY(!QFile::exists("x.h5"));
    }

    void badDataAndFilesAreNamed() {
        QTemporaryDir dir;
        const std::string d = dir.path().toStdString();
        normout::test::write_cifar_dir(d + "/cifar-10-batches-bin", 3);
        normout::test::write_bytes(d + "/cifar-10-batches-bin/test_batch.bin", std::string(100, 'x'));
        Result r = run({"train", "--preset", "thesis/baseline", "--data", dir.path(), "--out", dir.path() + "/r.h5"});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("test_batch.bin") && r.err.contains("3073"), qPrintable(r.err));
        QVERIFY(!QFile::exists(dir.path() + "/r.h5"));

        normout::test::write_bytes(d + "/bad.json", R"({"train": {"epochs": "many"}})");
        r = run({"train", "--config", dir.path() + "/bad.json", "--out", dir.path() + "/r.h5"});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("train.epochs") && r.err.contains("bad.json"), qPrintable(r.err));

        normout::test::write_bytes(d + "/garbage.h5", "this is not hdf5");
        r = run({"info", dir.path() + "/garbage.h5"});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("garbage.h5") && r.err.contains("not an HDF5 file"), qPrintable(r.err));
    }

    void trainInfoAndRefuseToOverwrite() {
        QTemporaryDir dir;
        const QString out = dir.path() + "/quick.h5";
        const Result r = run(tiny(out));
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("epoch   1/1"));
        QVERIFY(r.out.contains("Finished"));
        const Result i = run({"info", out});
        QCOMPARE(i.code, 0);
        QVERIFY(i.out.contains("Status    finished"));
        QVERIFY(i.out.contains("NormOut(temporal-softmax, T=100)"));
        const Result j = run({"info", "--json", out});
        const QJsonObject o = QJsonDocument::fromJson(j.out.toUtf8()).object();
        QCOMPARE(o["status"].toString(), QString("finished"));
        QCOMPARE(o["epochs"].toArray().size(), 1);
        QVERIFY(o["has_weights"].toBool());

        const QByteArray before = normout::test::read_bytes(out.toStdString()).c_str();
        const Result again = run(tiny(out));
        QCOMPARE(again.code, 1);
        QVERIFY(again.err.contains("already exists"));
        QVERIFY(QFile::exists(out));
        QCOMPARE(read_run(out.toStdString()).status, std::string("finished"));
        QVERIFY(run(tiny(out) << "--force").code == 0);
    }

    void ctrlCStopsAndLeavesAValidFile() {
        QTemporaryDir dir;
        const QString out = dir.path() + "/interrupted.h5";
        QProcess p;
        cli_.start(p, tiny(out, 50));
        QVERIFY(p.waitForStarted());
        // Wait until training runs (the first epoch line is printed after an epoch).
        QElapsedTimer t;
        t.start();
        QByteArray seen;
        while (!seen.contains("epoch   1/50") && t.elapsed() < 120000) {
            p.waitForReadyRead(1000);
            seen += p.readAllStandardOutput();
        }
        QVERIFY2(seen.contains("epoch   1/50"), seen.constData());
        ::kill(static_cast<pid_t>(p.processId()), SIGINT);
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 130);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains("Stopping after the current batch"), qPrintable(err));
        const RunInfo info = read_run(out.toStdString());
        QCOMPARE(QString::fromStdString(info.status), QString("stopped"));
        QVERIFY(info.epochs.size() >= 1);
        QVERIFY(!info.weight_names.empty());
        QCOMPARE(run({"info", out}).code, 0);
    }

    void fetchVerifiesAndUnpacks() {
        QTemporaryDir src, data;
        const std::string s = src.path().toStdString();
        normout::test::write_cifar_dir(s + "/cifar-10-batches-bin", 4);
        normout::test::write_bytes(s + "/cifar-10-batches-bin/batches.meta.txt",
                                   "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n");
        QProcess tar;
        tar.setWorkingDirectory(src.path());
        tar.start("tar", {"czf", "fixture.tar.gz", "cifar-10-batches-bin"});
        QVERIFY(tar.waitForFinished() && tar.exitCode() == 0);
        const std::string archive = normout::test::read_bytes(s + "/fixture.tar.gz");
        const QString md5 = QString::fromStdString(md5_file(s + "/fixture.tar.gz"));
        TinyHttpServer server("/cifar-10-binary.tar.gz", archive);

        // A wrong checksum installs nothing and leaves no partial files.
        Result r = run({"data", "fetch", "cifar10", "--data", data.path(), "--url",
                        server.url("/cifar-10-binary.tar.gz"), "--md5", "00000000000000000000000000000000"});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("checksum mismatch"), qPrintable(r.err));
        QVERIFY(fs::is_empty(data.path().toStdString()));

        r = run(
            {"data", "fetch", "cifar10", "--data", data.path(), "--url", server.url("/missing.tar.gz"), "--md5", md5});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("HTTP error"), qPrintable(r.err));
        QVERIFY(fs::is_empty(data.path().toStdString()));

        r = run({"data", "fetch", "cifar10", "--data", data.path(), "--url", server.url("/cifar-10-binary.tar.gz"),
                 "--md5", md5});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(QFile::exists(data.path() + "/cifar-10-batches-bin/test_batch.bin"));
        QCOMPARE(QDir(data.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden).size(), 1);

        r = run({"data", "fetch", "cifar10", "--data", data.path(), "--url", server.url("/cifar-10-binary.tar.gz"),
                 "--md5", md5});
        QCOMPARE(r.code, 0);
        QVERIFY(r.err.contains("already present"));

        // The fetched data set is found through --data by training.
        const Result l = run({"layers", "--preset", "thesis/baseline", "--data", data.path()});
        QCOMPARE(l.code, 0);
    }

    void benchPrintsNumbers() {
        const Result r = run({"bench", "--preset", "quick", "--set", "model.width=0.0625", "--set", "model.hidden=32",
                              "--set", "train.batch_size=32", "--steps", "3", "--warmup", "1", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QVERIFY(o["step_img_per_s"].toDouble() > 0);
        QVERIFY(o["pipeline_img_per_s"].toDouble() > 0);
        QVERIFY(o["full_img_per_s"].toDouble() > 0);
        QCOMPARE(o["batch"].toInt(), 32);
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
