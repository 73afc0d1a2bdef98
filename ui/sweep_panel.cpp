#include "ui/sweep_panel.h"
#include "ui/text_format.h"

#include <signal.h>

#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardPaths>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include "engine/sweep/sweep_spec.h"

namespace normout::ui {

QString normout_command() {
    const QString env = qEnvironmentVariable("NORMOUT_CLI");
    if (!env.isEmpty()) return env;
    const QString beside = QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("normout"));
    if (QFileInfo(beside).isExecutable()) return beside;
    const QString found = QStandardPaths::findExecutable(QStringLiteral("normout"));
    return found.isEmpty() ? QStringLiteral("normout") : found;
}

SweepPanel::SweepPanel(QWidget* parent)
    : QWidget(parent),
      spec_(new QComboBox),
      folder_(new QLineEdit),
      overrides_(new QLineEdit),
      backend_(new QComboBox),
      parallel_(new QSpinBox),
      start_(new QPushButton(tr("Start sweep"))),
      stop_(new QPushButton(tr("Stop"))),
      compare_(new QPushButton(tr("Compare finished runs"))),
      table_(new QTableWidget(0, 6)),
      log_(new QPlainTextEdit) {
    spec_->setEditable(true);
    for (const auto& [name, description] : builtin_sweeps())
        spec_->addItem(QString::fromStdString(name));
    spec_->setToolTip(
        tr("A sweep specification (JSON: base preset or configuration, a grid or list over settings, "
           "seeds; see resources/sweeps/) or a built-in sweep: thesis/table-3.1 (every row of table 3.1) or "
           "thesis/claims (what Compare → Report tests the thesis's claims on)"));
    auto* browse_spec = new QToolButton;
    browse_spec->setText(QStringLiteral("…"));
    auto* browse_folder = new QToolButton;
    browse_folder->setText(QStringLiteral("…"));
    folder_->setPlaceholderText(tr("folder for the sweep's runs"));
    overrides_->setPlaceholderText(tr("settings for every run, e.g. train.epochs=10 model.width=0.25"));
    backend_->addItems({QStringLiteral("local"), QStringLiteral("slurm")});
    backend_->setToolTip(
        tr("local: runs on this machine, N at a time; slurm: one sbatch job array, tracked with "
           "squeue/sacct, failed or pre-empted tasks resubmitted to resume from their checkpoints"));
    parallel_->setRange(1, 256);
    parallel_->setToolTip(tr("Runs at a time (local), or the job array's throttle (Slurm)"));

    auto* spec_row = new QHBoxLayout;
    spec_row->addWidget(spec_, 1);
    spec_row->addWidget(browse_spec);
    auto* folder_row = new QHBoxLayout;
    folder_row->addWidget(folder_, 1);
    folder_row->addWidget(browse_folder);
    auto* form = new QFormLayout;
    form->addRow(tr("Sweep"), spec_row);
    form->addRow(tr("Folder"), folder_row);
    form->addRow(tr("Every run"), overrides_);
    auto* backend_row = new QHBoxLayout;
    backend_row->addWidget(backend_);
    backend_row->addWidget(new QLabel(tr("at a time")));
    backend_row->addWidget(parallel_);
    backend_row->addStretch(1);
    form->addRow(tr("Backend"), backend_row);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(start_);
    buttons->addWidget(stop_);
    buttons->addStretch(1);
    buttons->addWidget(compare_);

    table_->setHorizontalHeaderLabels({tr("#"), tr("Run"), tr("Status"), tr("Epochs"), tr("Test acc"), tr("Time")});
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
    log_->setReadOnly(true);
    log_->setMaximumBlockCount(5000);
    log_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(table_);
    split->addWidget(log_);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(buttons);
    layout->addWidget(split, 1);

    connect(browse_spec, &QToolButton::clicked, this, [this] {
        const QString f = QFileDialog::getOpenFileName(this, tr("Sweep specification"), {}, tr("Sweeps (*.json)"));
        if (!f.isEmpty()) set_spec(f);
    });
    connect(browse_folder, &QToolButton::clicked, this, [this] {
        const QString f = QFileDialog::getExistingDirectory(this, tr("Sweep folder"), folder_->text());
        if (!f.isEmpty()) set_folder(f);
    });
    connect(folder_, &QLineEdit::editingFinished, this, [this] {
        Q_EMIT folder_chosen(folder_->text());
        refresh();
    });
    connect(start_, &QPushButton::clicked, this, &SweepPanel::start);
    connect(stop_, &QPushButton::clicked, this, &SweepPanel::stop);
    connect(compare_, &QPushButton::clicked, this, [this] {
        if (!finished_.isEmpty()) Q_EMIT compare_requested(finished_);
    });
    sweep_.setProcessChannelMode(QProcess::MergedChannels);
    connect(&sweep_, &QProcess::readyRead, this,
            [this] { log_->appendPlainText(QString::fromUtf8(sweep_.readAll()).trimmed()); });
    connect(&sweep_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
        if (e == QProcess::FailedToStart)
            log_->appendPlainText(tr("Cannot start %1: %2").arg(sweep_.program(), sweep_.errorString()));
        update_buttons();
    });
    connect(&sweep_, &QProcess::finished, this, [this](int code, QProcess::ExitStatus) {
        log_->appendPlainText(tr("— sweep ended (exit code %1)").arg(code));
        timer_.stop();
        refresh();
        update_buttons();
        Q_EMIT sweep_finished(code);
    });
    connect(&status_, &QProcess::finished, this, [this](int code, QProcess::ExitStatus) {
        if (code == 0) show_status(status_.readAllStandardOutput());
    });
    timer_.setInterval(3000);
    connect(&timer_, &QTimer::timeout, this, &SweepPanel::refresh);
    update_buttons();
}

SweepPanel::~SweepPanel() {
    // The sweep goes on without the window only if asked to; closing the lab stops it cleanly.
    if (sweep_.state() != QProcess::NotRunning) {
        stop();
        sweep_.waitForFinished(10000);
    }
    status_.waitForFinished(5000);
}

void SweepPanel::set_spec(const QString& spec) {
    spec_->setCurrentText(spec);
}
void SweepPanel::set_folder(const QString& folder) {
    folder_->setText(folder);
    Q_EMIT folder_chosen(folder);
    refresh();
}
void SweepPanel::set_overrides(const QString& text) {
    overrides_->setText(text);
}
void SweepPanel::set_backend(const QString& backend) {
    backend_->setCurrentText(backend);
}
bool SweepPanel::running() const {
    return sweep_.state() != QProcess::NotRunning;
}

QStringList SweepPanel::arguments() const {
    QStringList args{QStringLiteral("sweep"),      spec_->currentText(),
                     QStringLiteral("--out"),      folder_->text(),
                     QStringLiteral("--backend"),  backend_->currentText(),
                     QStringLiteral("--parallel"), QString::number(parallel_->value())};
    for (const QString& a : overrides_->text().split(QLatin1Char(' '), Qt::SkipEmptyParts))
        args << QStringLiteral("--set") << a;
    return args;
}

void SweepPanel::start() {
    if (running()) return;
    if (spec_->currentText().isEmpty() || folder_->text().isEmpty()) {
        log_->appendPlainText(tr("Choose a sweep specification and a folder first."));
        return;
    }
    log_->appendPlainText(QStringLiteral("$ normout %1").arg(arguments().join(QLatin1Char(' '))));
    sweep_.start(normout_command(), arguments());
    timer_.start();
    update_buttons();
}

void SweepPanel::stop() {
    if (running()) ::kill(static_cast<pid_t>(sweep_.processId()), SIGINT);  // the sweep's Ctrl-C
}

void SweepPanel::refresh() {
    if (folder_->text().isEmpty() || status_.state() != QProcess::NotRunning) return;
    if (!QFileInfo::exists(QDir(folder_->text()).filePath(QStringLiteral("sweep.json")))) return;
    status_.start(normout_command(), {QStringLiteral("sweep-status"), folder_->text(), QStringLiteral("--json")});
}

void SweepPanel::refresh_now() {
    status_.waitForFinished(30000);
    refresh();
    status_.waitForFinished(30000);
}

void SweepPanel::show_status(const QByteArray& json) {
    const QJsonArray runs = QJsonDocument::fromJson(json).object().value(QStringLiteral("runs")).toArray();
    table_->setRowCount(runs.size());
    finished_.clear();
    for (int i = 0; i < runs.size(); ++i) {
        const QJsonObject r = runs[i].toObject();
        const QString status = r.value(QStringLiteral("status")).toString();
        const QJsonValue acc = r.value(QStringLiteral("test_accuracy"));
        const QStringList cells{QString::number(r.value(QStringLiteral("index")).toInt()),
                                r.value(QStringLiteral("name")).toString(),
                                status,
                                QStringLiteral("%1/%2")
                                    .arg(r.value(QStringLiteral("epochs")).toInt())
                                    .arg(r.value(QStringLiteral("epochs_total")).toInt()),
                                percent_text(acc.isDouble() ? acc.toDouble() : std::nan("")),
                                QStringLiteral("%1 s").arg(r.value(QStringLiteral("seconds")).toDouble(), 0, 'f', 0)};
        for (int c = 0; c < cells.size(); ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            if (c == 2 && !r.value(QStringLiteral("message")).toString().isEmpty())
                item->setToolTip(r.value(QStringLiteral("message")).toString());
            table_->setItem(i, c, item);
        }
        if (status == QLatin1String("finished")) finished_ << r.value(QStringLiteral("file")).toString();
    }
    update_buttons();
}

void SweepPanel::update_buttons() {
    start_->setEnabled(!running());
    stop_->setEnabled(running());
    compare_->setEnabled(!finished_.isEmpty());
}

}  // namespace normout::ui
