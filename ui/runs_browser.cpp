#include "ui/runs_browser.h"
#include "ui/text_format.h"

#include <QDateTime>
#include <QDirIterator>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QStandardItemModel>
#include <QTableView>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <cmath>

#include "engine/config/config.h"
#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"

namespace normout::ui {

namespace {

enum Column {
    Name,
    Status,
    Preset,
    Layers,
    Epochs,
    TestAcc,
    Gap,
    FisherRao,
    Fgsm,
    Masking,
    Seed,
    Modified,
    Path,
    Count
};

// The newest change of a run's record: its file or its analysis sidecar (where `normout attack`
// and `normout flatness` store their results).
qint64 last_change_ms(const QString& path) {
    const QFileInfo sidecar(QString::fromStdString(analysis_path(path.toStdString())));
    const qint64 run = QFileInfo(path).lastModified().toMSecsSinceEpoch();
    return sidecar.exists() ? std::max(run, sidecar.lastModified().toMSecsSinceEpoch()) : run;
}

// A number cell that sorts by value; NaN shows as a dash and sorts first.
QStandardItem* number_item(double v, bool percent) {
    auto* item = new QStandardItem(percent || !std::isfinite(v) ? percent_text(v) : QString::number(v, 'g', 4));
    item->setData(std::isfinite(v) ? v : -1e300, Qt::UserRole);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

QStandardItem* text_item(const QString& s) {
    auto* item = new QStandardItem(s);
    item->setData(s, Qt::UserRole);
    return item;
}

}  // namespace

QStringList run_files(const QString& folder) {
    QStringList out;
    QDirIterator it(folder, {QStringLiteral("*.h5")}, QDir::Files, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        if (is_segment_path(path.toStdString())) continue;  // part of its run
        out << path;
    }
    out.sort();
    return out;
}

RunSummary summarise_run(const QString& path) {
    RunSummary s;
    s.path = path;
    s.modified_ms = last_change_ms(path);
    s.test_accuracy = s.gap = s.fisher_rao = s.fgsm = NAN;
    try {
        const RunInfo info = read_run(path.toStdString());
        const RunHeader& h = info.header;
        s.name = QString::fromStdString(h.name);
        s.preset = QString::fromStdString(h.preset);
        s.status = QString::fromStdString(info.status);
        s.epochs = static_cast<int>(info.epochs.size());
        QStringList layers;
        for (std::size_t i = 0; i < h.layer_kinds.size(); ++i)
            if (h.layer_kinds[i] == "NormOut" || h.layer_kinds[i] == "Dropout")
                layers << QStringLiteral("%1 %2").arg(i).arg(QString::fromStdString(h.layer_descriptions[i]));
        s.layers = layers.isEmpty() ? QObject::tr("none") : layers.join(QStringLiteral("; "));
        try {
            const RunConfig c = config_from_json(h.config_json);
            s.epochs_planned = c.train.epochs;
            s.seed = static_cast<qint64>(c.train.seed);
        } catch (const std::exception&) {
        }
        if (!info.epochs.empty()) {
            s.test_accuracy = info.epochs.back().test_accuracy;
            s.gap = info.epochs.back().train_accuracy - info.epochs.back().test_accuracy;
        }
        const AnalysisData a = read_analysis(path.toStdString());
        if (const auto f = a.tables.find("flatness"); f != a.tables.end())
            for (const auto& r : f->second.rows)
                if (r.text("measure") == "fisher_rao_empirical") s.fisher_rao = r.number("value");  // the newest
        if (const auto t = a.tables.find("attacks"); t != a.tables.end())
            for (const auto& r : t->second.rows)
                if (r.text("attack") == "fgsm" && r.text("norm") == "linf" && r.text("role") == "main")
                    s.fgsm = r.number("accuracy");
        if (const auto m = a.tables.find("masking"); m != a.tables.end())
            for (const auto& r : m->second.rows)
                if (r.text("flag") == "verdict")
                    s.masking = r.number("masking_likely") == 1.0 ? QObject::tr("likely") : QObject::tr("not detected");
    } catch (const std::exception& e) {
        s.status = QObject::tr("unreadable");
        s.error = QString::fromStdString(e.what());
        s.name = QFileInfo(path).fileName();
    }
    return s;
}

RunsBrowser::RunsBrowser(QWidget* parent)
    : QWidget(parent),
      folder_label_(new QLabel),
      search_(new QLineEdit),
      model_(new QStandardItemModel(0, Count, this)),
      proxy_(new QSortFilterProxyModel(this)),
      view_(new QTableView) {
    model_->setHorizontalHeaderLabels({tr("Name"), tr("Status"), tr("Preset"), tr("Dropout/NormOut layers"),
                                       tr("Epochs"), tr("Test acc"), tr("Gap"), tr("Fisher-Rao"), tr("FGSM acc"),
                                       tr("Masking"), tr("Seed"), tr("Modified"), tr("File")});
    model_->horizontalHeaderItem(Gap)->setToolTip(
        tr("Generalisation gap: train minus test accuracy (thesis table 3.1)"));
    model_->horizontalHeaderItem(FisherRao)->setToolTip(tr("Empirical Fisher-Rao norm, newest (thesis table 3.6)"));
    model_->horizontalHeaderItem(Fgsm)->setToolTip(tr("FGSM accuracy, L-inf, newest evaluation (thesis table 3.4)"));
    proxy_->setSourceModel(model_);
    proxy_->setSortRole(Qt::UserRole);
    proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);
    proxy_->setFilterKeyColumn(-1);  // any column
    view_->setModel(proxy_);
    view_->setSortingEnabled(true);
    view_->sortByColumn(Modified, Qt::DescendingOrder);
    view_->setSelectionBehavior(QAbstractItemView::SelectRows);
    view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view_->verticalHeader()->hide();
    view_->horizontalHeader()->setStretchLastSection(true);
    view_->setAlternatingRowColors(true);
    search_->setPlaceholderText(tr("Filter: name, preset, layer, status…"));
    search_->setClearButtonEnabled(true);

    auto* choose = new QPushButton(tr("Folder…"));
    auto* open = new QPushButton(tr("Open"));
    auto* compare = new QPushButton(tr("Compare selected"));
    open->setToolTip(tr("Show the selected run in the dashboard and the inspector"));
    compare->setToolTip(tr("Overlay the selected runs, build the thesis tables from them, export figures"));
    auto* top = new QHBoxLayout;
    top->addWidget(folder_label_, 1);
    top->addWidget(choose);
    auto* bottom = new QHBoxLayout;
    bottom->addWidget(search_, 1);
    bottom->addWidget(open);
    bottom->addWidget(compare);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(view_, 1);
    layout->addLayout(bottom);

    connect(search_, &QLineEdit::textChanged, this, &RunsBrowser::set_filter);
    connect(choose, &QPushButton::clicked, this, [this] {
        const QString f = QFileDialog::getExistingDirectory(this, tr("Runs folder"), folder_);
        if (!f.isEmpty()) set_folder(f);
    });
    connect(open, &QPushButton::clicked, this, [this] {
        const QStringList p = selected_paths();
        if (!p.isEmpty()) Q_EMIT open_requested(p.front());
    });
    connect(compare, &QPushButton::clicked, this, [this] {
        const QStringList p = selected_paths();
        if (!p.isEmpty()) Q_EMIT compare_requested(p);
    });
    connect(view_, &QTableView::doubleClicked, this, [this](const QModelIndex& i) {
        Q_EMIT open_requested(proxy_->index(i.row(), Path).data(Qt::UserRole).toString());
    });
    connect(&scan_, &QFutureWatcher<std::vector<RunSummary>>::finished, this, [this] { apply(scan_.result()); });
    timer_.setInterval(3000);
    connect(&timer_, &QTimer::timeout, this, &RunsBrowser::start_scan);
}

RunsBrowser::~RunsBrowser() {
    timer_.stop();
    scan_.waitForFinished();
}

void RunsBrowser::set_folder(const QString& folder) {
    if (folder == folder_) return;
    folder_ = folder;
    folder_label_->setText(tr("Runs in <b>%1</b>").arg(folder.toHtmlEscaped()));
    known_.clear();
    model_->removeRows(0, model_->rowCount());
    start_scan();
    timer_.start();
    Q_EMIT folder_changed(folder);
}

void RunsBrowser::set_filter(const QString& text) {
    if (search_->text() != text) search_->setText(text);
    proxy_->setFilterFixedString(text);
}

// Reads only files that are new or changed since the last scan.
static std::vector<RunSummary> scan_folder(const QString& folder, const QHash<QString, RunSummary>& known) {
    std::vector<RunSummary> out;
    for (const QString& path : run_files(folder)) {
        const auto it = known.find(path);
        if (it != known.end() && it->modified_ms == last_change_ms(path))
            out.push_back(*it);
        else
            out.push_back(summarise_run(path));
    }
    return out;
}

void RunsBrowser::start_scan() {
    if (folder_.isEmpty() || scan_.isRunning()) return;
    scan_.setFuture(QtConcurrent::run(scan_folder, folder_, known_));
}

void RunsBrowser::rescan_now() {
    scan_.waitForFinished();
    apply(scan_folder(folder_, known_));
}

void RunsBrowser::apply(const std::vector<RunSummary>& rows) {
    QHash<QString, RunSummary> now;
    for (const auto& r : rows)
        now.insert(r.path, r);
    // Rows of files that are gone, or changed, are replaced; selection survives for the others.
    for (int i = model_->rowCount() - 1; i >= 0; --i) {
        const QString path = model_->item(i, Path)->data(Qt::UserRole).toString();
        const auto it = now.find(path);
        if (it == now.end() || it->modified_ms != known_.value(path).modified_ms) model_->removeRow(i);
    }
    for (const auto& r : rows) {
        const auto old = known_.find(r.path);
        if (old != known_.end() && old->modified_ms == r.modified_ms) continue;
        QList<QStandardItem*> items(Count);
        items[Name] = text_item(r.name.isEmpty() ? QFileInfo(r.path).completeBaseName() : r.name);
        items[Status] = text_item(r.status);
        if (!r.error.isEmpty()) items[Status]->setToolTip(r.error);
        items[Preset] = text_item(r.preset);
        items[Layers] = text_item(r.layers);
        items[Epochs] = text_item(QStringLiteral("%1/%2").arg(r.epochs).arg(r.epochs_planned));
        items[Epochs]->setData(r.epochs, Qt::UserRole);
        items[TestAcc] = number_item(r.test_accuracy, true);
        items[Gap] = number_item(r.gap, true);
        items[FisherRao] = number_item(r.fisher_rao, false);
        items[Fgsm] = number_item(r.fgsm, true);
        items[Masking] = text_item(r.masking);
        items[Seed] = text_item(QString::number(r.seed));
        items[Seed]->setData(r.seed, Qt::UserRole);
        items[Modified] =
            text_item(QDateTime::fromMSecsSinceEpoch(r.modified_ms).toString(QStringLiteral("yyyy-MM-dd hh:mm")));
        items[Modified]->setData(r.modified_ms, Qt::UserRole);
        items[Path] = text_item(r.path);
        model_->appendRow(items);
    }
    known_ = now;
    view_->resizeColumnsToContents();
}

int RunsBrowser::visible_rows() const {
    return proxy_->rowCount();
}

QString RunsBrowser::path_at(int row) const {
    return proxy_->index(row, Path).data(Qt::UserRole).toString();
}

void RunsBrowser::select_rows(const QList<int>& rows) {
    view_->clearSelection();
    for (int r : rows)
        view_->selectionModel()->select(proxy_->index(r, 0), QItemSelectionModel::Select | QItemSelectionModel::Rows);
}

QStringList RunsBrowser::selected_paths() const {
    QStringList out;
    for (const QModelIndex& i : view_->selectionModel()->selectedRows())
        out << proxy_->index(i.row(), Path).data(Qt::UserRole).toString();
    return out;
}

}  // namespace normout::ui
