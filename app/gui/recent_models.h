// The recently opened models, most recent first, kept in the user's settings
// (QSettings "archscope"/"archscope", key "recent_models").
#pragma once

#include <QString>
#include <QStringList>

namespace archscope::gui {

class RecentModels {
 public:
  static constexpr int kMaxEntries = 10;

  // Reads the list from the settings.
  RecentModels();

  const QStringList& paths() const { return paths_; }
  bool empty() const { return paths_.empty(); }
  // Moves `path` (made absolute) to the front and saves the list.
  void add(const QString& path);
  void remove(const QString& path);
  void clear();

 private:
  void save() const;
  QStringList paths_;
};

}  // namespace archscope::gui
