#include "detector/eval/map.h"

#include <algorithm>

#include "engine/core/error.h"

namespace detector {

double iou_threshold(int i) {
    // np.linspace(.5, .95, 10): start + i * step, the last one exactly the stop value.
    if (i == kNumIouThresholds - 1) return 0.95;
    return 0.5 + static_cast<double>(i) * ((0.95 - 0.5) / (kNumIouThresholds - 1));
}

double recall_point(int i) {
    if (i == kNumRecallPoints - 1) return 1.0;
    return static_cast<double>(i) * (1.0 / (kNumRecallPoints - 1));
}

MapEvaluator::MapEvaluator(int max_dets_per_image) : max_dets_(max_dets_per_image) {
    ENGINE_CHECK(max_dets_per_image >= 1, "max detections per image must be >= 1, got ", max_dets_per_image);
}

void MapEvaluator::ensure_class(int c) {
    ENGINE_CHECK(c >= 0, "negative class id ", c);
    if (static_cast<size_t>(c) >= num_gt_.size()) {
        num_gt_.resize(static_cast<size_t>(c) + 1, 0);
        records_.resize(static_cast<size_t>(c) + 1);
    }
}

void MapEvaluator::add_image(std::span<const GroundTruthBox> gt, std::span<const Detection> dets) {
    ++num_images_;
    for (const GroundTruthBox& g : gt) {
        ensure_class(g.class_id);
        ++num_gt_[static_cast<size_t>(g.class_id)];
    }
    for (const Detection& d : dets) ensure_class(d.class_id);

    // All detections of this image by score (stable), then per class: cut to max_dets_, match.
    order_.resize(dets.size());
    for (size_t i = 0; i < dets.size(); ++i) order_[i] = i;
    std::stable_sort(order_.begin(), order_.end(),
                     [&](size_t a, size_t b) { return dets[a].score > dets[b].score; });
    std::vector<int> classes;
    for (const Detection& d : dets) classes.push_back(d.class_id);
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());

    for (int c : classes) {
        std::vector<size_t> gts;
        for (size_t g = 0; g < gt.size(); ++g)
            if (gt[g].class_id == c) gts.push_back(g);
        matched_.assign(gts.size() * kNumIouThresholds, 0);
        int taken = 0;
        for (size_t oi : order_) {
            const Detection& d = dets[oi];
            if (d.class_id != c) continue;
            if (taken++ == max_dets_) break;
            Record r;
            r.score = d.score;
            for (int t = 0; t < kNumIouThresholds; ++t) {
                double best = std::min(iou_threshold(t), 1 - 1e-10);
                int best_g = -1;
                for (size_t k = 0; k < gts.size(); ++k) {
                    if (matched_[k * kNumIouThresholds + static_cast<size_t>(t)]) continue;
                    const double v = iou(d.box, gt[gts[k]].box);
                    if (v < best) continue;
                    best = v;
                    best_g = static_cast<int>(k);
                }
                if (best_g < 0) continue;
                matched_[static_cast<size_t>(best_g) * kNumIouThresholds + static_cast<size_t>(t)] = 1;
                r.tp = static_cast<uint16_t>(r.tp | (1u << t));
            }
            records_[static_cast<size_t>(c)].push_back(r);
        }
    }
}

MapResult MapEvaluator::compute() const {
    MapResult res;
    res.num_images = num_images_;
    std::vector<size_t> order;
    std::vector<double> precision, recall;
    for (size_t c = 0; c < num_gt_.size(); ++c) {
        res.num_det += static_cast<int>(records_[c].size());
        if (num_gt_[c] == 0) continue;
        const auto& recs = records_[c];
        ClassAp ca;
        ca.class_id = static_cast<int>(c);
        ca.num_gt = num_gt_[c];
        ca.num_det = static_cast<int>(recs.size());
        res.num_gt += ca.num_gt;
        order.resize(recs.size());
        for (size_t i = 0; i < recs.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(),
                         [&](size_t a, size_t b) { return recs[a].score > recs[b].score; });
        double sum_ap = 0;
        for (int t = 0; t < kNumIouThresholds; ++t) {
            precision.clear();
            recall.clear();
            double tp = 0, fp = 0;
            for (size_t i : order) {
                if (recs[i].tp & (1u << t))
                    tp += 1;
                else
                    fp += 1;
                recall.push_back(tp / ca.num_gt);
                precision.push_back(tp / (tp + fp + 2.220446049250313e-16));  // np.spacing(1), as COCOeval
            }
            for (size_t i = precision.size(); i-- > 1;)
                precision[i - 1] = std::max(precision[i - 1], precision[i]);
            std::array<double, kNumRecallPoints> q{};
            for (int r = 0; r < kNumRecallPoints; ++r) {
                const auto it = std::lower_bound(recall.begin(), recall.end(), recall_point(r));
                if (it != recall.end())
                    q[static_cast<size_t>(r)] = precision[static_cast<size_t>(it - recall.begin())];
            }
            double ap = 0;
            for (double v : q) ap += v;
            ap /= kNumRecallPoints;
            sum_ap += ap;
            if (t == 0) {
                ca.ap50 = ap;
                ca.precision50 = q;
                ca.recall50 = recall.empty() ? 0 : recall.back();
            }
            if (t == 5) ca.ap75 = ap;
        }
        ca.ap50_95 = sum_ap / kNumIouThresholds;
        res.classes.push_back(ca);
    }
    if (!res.classes.empty()) {
        for (const ClassAp& ca : res.classes) {
            res.map50 += ca.ap50;
            res.map75 += ca.ap75;
            res.map50_95 += ca.ap50_95;
            for (int r = 0; r < kNumRecallPoints; ++r)
                res.mean_precision50[static_cast<size_t>(r)] += ca.precision50[static_cast<size_t>(r)];
        }
        const double n = static_cast<double>(res.classes.size());
        res.map50 /= n;
        res.map75 /= n;
        res.map50_95 /= n;
        for (double& v : res.mean_precision50) v /= n;
    }
    return res;
}

}  // namespace detector
