-- The CSC framework as dimensions: 5 stages and 12 strategies, with English and Chinese names.
-- csc/framework.py is the source of truth; tests/test_views.py fails if these rows drift from
-- it. The file name sorts first because the other view files join these views.
CREATE OR REPLACE VIEW marts.stages AS
SELECT stage_id::INTEGER AS stage_id, stage_name, stage_name_zh
FROM (VALUES
    (1, 'Connecting',  '欢迎和建立联系'),
    (2, 'Identifying', '理解和识别问题'),
    (3, 'Exploring',   '寻求解决方案'),
    (4, 'Resolving',   '解决和确认'),
    (5, 'Maintaining', '结束和保持关系')
) AS t(stage_id, stage_name, stage_name_zh);

-- One row per strategy id 1-12; stage_id is its usual stage (a guide, not a rule), NULL for
-- Others, which may be used at any stage.
CREATE OR REPLACE VIEW marts.strategies AS
SELECT s.strategy_id::INTEGER AS strategy_id, s.strategy_name, s.strategy_abbr,
       s.strategy_name_zh, s.stage_id::INTEGER AS stage_id, g.stage_name, g.stage_name_zh
FROM (VALUES
    (1,  'Greeting',                    'GT',     '礼貌问候',   1),
    (2,  'Identity Verification',       'IV',     '确认身份',   1),
    (3,  'Restatement or Paraphrasing', 'RP',     '重述或转述', 2),
    (4,  'Problem Refinement',          'PR',     '细化问题',   2),
    (5,  'Emotional Management',        'EM',     '情感管理',   2),
    (6,  'Providing Suggestions',       'PS',     '提供建议',   3),
    (7,  'Information Delivery',        'ID',     '信息传达',   3),
    (8,  'Resolution Implementation',   'RI',     '解决实施',   4),
    (9,  'Feedback Request',            'FR',     '反馈请求',   5),
    (10, 'Relationship Continuation',   'RC',     '关系延续',   5),
    (11, 'Appreciation & Closure',      'AC',     '感谢与告别', 5),
    (12, 'Others',                      'Others', '其它',       NULL)
) AS s(strategy_id, strategy_name, strategy_abbr, strategy_name_zh, stage_id)
LEFT JOIN marts.stages g ON g.stage_id = s.stage_id;
