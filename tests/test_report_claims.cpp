// `normout report`'s statistics and claims with planted truths: the distribution functions
// against tabulated values, Holm's adjustment, a margin planted between two configurations (the
// claim is supported and its interval covers the margin), no difference (inconclusive in at least
// 95% of repeated draws), a known rank correlation (its interval covers it), masking verdicts, and
// the whole report built from run files.
#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <cmath>
#include <cstdlib>
#include <random>

#include "engine/config/config.h"
#include "engine/config/presets.h"
#include "engine/report/claims.h"
#include "engine/report/report_build.h"
#include "engine/report/stats.h"
#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"

using namespace normout;

namespace {

RunSummary summary(const std::string& preset, uint64_t seed, double test_acc, double fisher = NAN) {
    RunConfig c = preset_config(preset);
    c.train.seed = seed;
    RunSummary s;
    s.path = preset + "-" + std::to_string(seed) + ".h5";
    s.name = c.name;
    s.preset = preset;
    s.config_json = config_to_json(c);
    s.seed = seed;
    s.epochs = s.planned_epochs = c.train.epochs;
    s.train_accuracy = test_acc + 3;
    s.test_accuracy = test_acc;
    s.fisher_rao_empirical = fisher;
    s.fisher_rao_model = NAN;
    s.masking_likely = NAN;
    return s;
}

const ClaimResult& claim(const std::vector<ClaimResult>& all, const std::string& id) {
    for (const auto& c : all)
        if (c.id == id) return c;
    throw std::runtime_error("no claim " + id);
}

// Three configurations, `seeds` seeds each: a seed effect shared by all (the data order), plus
// independent noise; Temporal Softmax is `margin` points above Dropout, which equals the baseline.
std::vector<RunSummary> planted(double margin, int seeds, std::mt19937_64& rng, double noise_sd = 0.4) {
    std::normal_distribution<double> seed_effect(0, 0.6), noise(0, noise_sd);
    std::vector<RunSummary> runs;
    for (int s = 0; s < seeds; ++s) {
        const double shared = seed_effect(rng);
        runs.push_back(summary("thesis/baseline", s, 90 + shared + noise(rng)));
        runs.push_back(summary("thesis/dropout-48-51", s, 90 + shared + noise(rng)));
        runs.push_back(summary("thesis/temporal-softmax-48-51-T100", s, 90 + margin + shared + noise(rng)));
    }
    return runs;
}

std::string make_run_file(const QTemporaryDir& dir, const RunSummary& s, double pgd_ce, double masking) {
    const std::string path = dir.path().toStdString() + "/" + std::to_string(std::hash<std::string>{}(s.path)) + ".h5";
    RunHeader h;
    h.run_id = new_run_id();
    h.name = s.name;
    h.preset = s.preset;
    h.config_json = s.config_json;
    h.start_unix_ms = unix_time_ms();
    h.host = host_name();
    h.pid = 1;
    h.dataset = "fashion-mnist";
    h.train_count = 1000;
    {
        RunWriter w(path, h);
        EpochRecord e;
        e.epoch = 1;
        e.train_accuracy = s.train_accuracy / 100;
        e.test_accuracy = s.test_accuracy / 100;
        w.append_epochs({e});
        w.set_status(RunStatus::Finished, "", 10);
    }
    AnalysisWriter a(path);
    a.append("attacks", {{{{"eps", 8.0 / 255}, {"accuracy", pgd_ce / 100}, {"weights_step", 10}, {"evaluation", 1}},
                          {{"attack", "pgd-ce"}, {"norm", "linf"}, {"role", "main"}}}});
    a.append("flatness",
             {{{{"value", s.fisher_rao_empirical}, {"weights_step", 10}}, {{"measure", "fisher_rao_empirical"}}}});
    a.append("masking",
             {{{{"masking_likely", masking}, {"weights_step", 10}}, {{"flag", "verdict"}, {"verdict", "x"}}}});
    a.commit();
    return path;
}

}  // namespace

class TestReportClaims : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void distributionsMatchTables() {
        QVERIFY(std::fabs(stats::normal_quantile(0.975) - 1.959964) < 1e-5);
        QVERIFY(std::fabs(stats::t_quantile(0.975, 2) - 4.302653) < 1e-5);
        QVERIFY(std::fabs(stats::t_quantile(0.975, 10) - 2.228139) < 1e-5);
        QVERIFY(std::fabs(stats::t_quantile(0.05, 4) + 2.131847) < 1e-5);
        QVERIFY(std::fabs(stats::t_cdf(1.0, 1) - 0.75) < 1e-9);  // Cauchy
        QVERIFY(std::fabs(stats::incomplete_beta(2, 3, 0.4) - 0.5248) < 1e-9);
        QVERIFY(std::fabs(stats::beta_quantile(0.5248, 2, 3) - 0.4) < 1e-7);
        // Clopper-Pearson for 3 of 3: [0.292, 1]; exact one-sided p 1/8.
        const auto p = stats::proportion(3, 3);
        QVERIFY(std::fabs(p.low - 0.29240) < 1e-4 && p.high == 1 && std::fabs(p.p_greater - 0.125) < 1e-12);
        QCOMPARE(stats::binomial_runs_needed(0.05), 5);
    }

    void holmAdjusts() {
        const auto a = stats::holm({0.01, 0.04, 0.03, 0.005});
        QVERIFY(std::fabs(a[0] - 0.03) < 1e-12 && std::fabs(a[1] - 0.06) < 1e-12 && std::fabs(a[2] - 0.06) < 1e-12 &&
                std::fabs(a[3] - 0.02) < 1e-12);
        const auto b = stats::holm({0.5, NAN});
        QVERIFY(b[0] == 0.5 && std::isnan(b[1]));
    }

    void pairedAndWelch() {
        // Paired: differences 1, 2, 3 -> mean 2, sd 1, t interval 2 ± 4.3027/sqrt(3).
        const auto c = stats::compare({{0, 11}, {1, 22}, {2, 33}}, {{0, 10}, {1, 20}, {2, 30}});
        QVERIFY(c.paired && c.n_pairs == 3);
        QVERIFY(std::fabs(c.effect - 2) < 1e-12);
        QVERIFY(std::fabs(c.high - (2 + 4.302653 / std::sqrt(3.0))) < 1e-5);
        // No shared seeds: Welch.
        const auto w = stats::compare({{0, 1}, {1, 2}, {2, 3}}, {{5, 1}, {6, 1.5}});
        QVERIFY(!w.paired && w.method == "Welch t");
        QVERIFY(std::fabs(w.effect - 0.75) < 1e-12);
        QVERIFY(!stats::compare({{0, 1}}, {{1, 2}}).valid());  // one run each: no test
    }

    void plantedMarginIsSupportedAndCovered() {
        std::mt19937_64 rng(7);
        const auto runs = planted(2.0, 5, rng);
        const auto claims = evaluate_claims(runs, group_runs(runs));
        const auto& a = claim(claims, "a");
        QCOMPARE(a.verdict, ClaimVerdict::Supported);
        QVERIFY2(a.low <= 2.0 && 2.0 <= a.high, a.effect_text.c_str());
        QVERIFY(a.method.find("paired") != std::string::npos);
        QCOMPARE(a.runs, 10);
        QCOMPARE(claim(claims, "c").verdict, ClaimVerdict::NotTested);  // no Fisher-Rao values
    }

    void noDifferenceIsInconclusiveInAtLeast95PercentOfDraws() {
        std::mt19937_64 rng(11);
        int inconclusive = 0, contradicted = 0;
        const int draws = 400;
        for (int i = 0; i < draws; ++i) {
            const auto runs = planted(0.0, 3, rng);
            const auto claims = evaluate_claims(runs, group_runs(runs));
            const ClaimResult& a = claim(claims, "a");
            inconclusive += a.verdict == ClaimVerdict::Inconclusive;
            contradicted += a.verdict == ClaimVerdict::Contradicted;
            if (a.verdict == ClaimVerdict::Inconclusive && i < 5) QVERIFY(a.seeds_needed != 0);
        }
        QVERIFY2(inconclusive >= 0.95 * draws, qPrintable(QString::number(inconclusive)));
        QVERIFY2(contradicted <= 0.025 * draws, qPrintable(QString::number(contradicted)));  // one tail
    }

    void knownRankCorrelationIsCovered() {
        // Bivariate normal with Pearson r0: Spearman's rho is (6 / pi) asin(r0 / 2).
        const double r0 = -0.7, rho = 6 / M_PI * std::asin(r0 / 2);
        std::mt19937_64 rng(3);
        std::normal_distribution<double> z(0, 1);
        int covered = 0;
        const int draws = 200, n = 40;
        for (int d = 0; d < draws; ++d) {
            std::vector<double> x, y;
            for (int i = 0; i < n; ++i) {
                const double a = z(rng), b = z(rng);
                x.push_back(std::exp(a));  // the norm: positive, skewed; ranks do not care
                y.push_back(50 + 10 * (r0 * a + std::sqrt(1 - r0 * r0) * b));
            }
            const auto c = stats::spearman(x, y, 0.95, 200, d + 1);
            covered += c.low <= rho && rho <= c.high;
            if (d == 0) QVERIFY(c.rho < 0 && c.p < 0.01);
        }
        // Nominal 95%; the binomial spread over 200 draws is about 1.5 points.
        QVERIFY2(covered >= 0.9 * draws, qPrintable(QString::number(covered)));
        // Exact permutation p for a perfect order of 5 points: 2 of 120 orders are as extreme.
        const auto perfect = stats::spearman({1, 2, 3, 4, 5}, {10, 9, 8, 7, 6});
        QVERIFY(std::fabs(perfect.rho + 1) < 1e-12 && std::fabs(perfect.p - 2.0 / 120) < 1e-12);
    }

    void reportFromRunFiles() {
        QTemporaryDir dir;
        std::mt19937_64 rng(5);
        std::normal_distribution<double> noise(0, 0.3);
        std::vector<std::string> paths;
        // Dropout halves the norm of the baseline; SpatialMax masks in every seed; a lower norm goes
        // with a higher PGD-CE accuracy across the runs.
        for (int s = 0; s < 4; ++s) {
            auto base = summary("thesis/baseline", s, 90 + noise(rng), 30 * std::exp(noise(rng) * 0.1));
            auto drop = summary("thesis/dropout-48-51", s, 90.5 + noise(rng), 15 * std::exp(noise(rng) * 0.1));
            auto ts =
                summary("thesis/temporal-softmax-48-51-T100", s, 91 + noise(rng), 10 * std::exp(noise(rng) * 0.1));
            auto sm = summary("thesis/spatialmax-48-51", s, 89 + noise(rng), 60 * std::exp(noise(rng) * 0.1));
            paths.push_back(make_run_file(dir, base, 5, 0));
            paths.push_back(make_run_file(dir, drop, 8, 0));
            paths.push_back(make_run_file(dir, ts, 12, 0));
            paths.push_back(make_run_file(dir, sm, 2, 1));
        }
        const Report r = build_report({dir.path().toStdString()});
        QCOMPARE(r.runs.size(), std::size_t(16));
        QCOMPARE(r.groups.size(), std::size_t(4));
        QCOMPARE(claim(r.claims, "c").verdict, ClaimVerdict::Supported);
        QVERIFY(claim(r.claims, "c").low <= 0.5 && 0.5 <= claim(r.claims, "c").high);
        QCOMPARE(claim(r.claims, "e").verdict, ClaimVerdict::Inconclusive);  // 4 of 4: p = 1/8 two-sided
        QCOMPARE(claim(r.claims, "e").seeds_needed, 8);                      // 2 / 2^8 < 0.05 / 6
        QCOMPARE(claim(r.claims, "f").verdict, ClaimVerdict::Supported);
        QCOMPARE(claim(r.claims, "f").runs, 16);
        const std::string html = to_html(r.document);
        for (const char* text : {"Table 3.1", "Table 3.4", "Table 3.6", "supported", "inconclusive", "Thesis",
                                 "Temporal Softmax 48 51 (T=100) (4 seeds)", "92.58"})
            QVERIFY2(html.find(text) != std::string::npos, text);
        // Every run's file is named in the report.
        for (const auto& p : paths)
            QVERIFY(html.find(p) != std::string::npos);
        // The PDF holds every table and every verdict (its text, as pdftotext reads it).
        if (report_pdf_available() && std::system("command -v pdftotext >/dev/null 2>&1") == 0) {
            const std::string pdf = dir.path().toStdString() + "/report.pdf", txt = pdf + ".txt";
            write_pdf(r.document, pdf);
            QCOMPARE(std::system(("pdftotext '" + pdf + "' '" + txt + "'").c_str()), 0);
            QFile f(QString::fromStdString(txt));
            QVERIFY(f.open(QIODevice::ReadOnly));
            // Words may wrap within a cell: compare with runs of white space collapsed.
            const QString text = QString::fromUtf8(f.readAll()).simplified();
            for (const auto& block : r.document.blocks)
                if (block.kind == Block::Kind::Table)
                    QVERIFY2(text.contains(QString::fromStdString(block.table.title).simplified()),
                             block.table.title.c_str());
            for (const auto& c : r.claims)
                QVERIFY2(text.contains(QString("(%1)").arg(QString::fromStdString(c.id))) &&
                             text.contains(QString::fromUtf8(verdict_name(c.verdict))),
                         c.id.c_str());
        }
        // A missing path is refused before anything is read.
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, build_report({dir.path().toStdString() + "/nope"}));
    }
};

QTEST_APPLESS_MAIN(TestReportClaims)
#include "test_report_claims.moc"
