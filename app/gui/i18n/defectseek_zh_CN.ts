<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>Actions</name>
    <message>
        <location filename="../actions.py" line="58"/>
        <source>Defect Type {0}</source>
        <translation>缺陷类型 {0}</translation>
    </message>
    <message>
        <location filename="../actions.py" line="69"/>
        <source>&amp;New Project...</source>
        <translation>新建项目(&amp;N)...</translation>
    </message>
    <message>
        <location filename="../actions.py" line="70"/>
        <source>&amp;Open Project...</source>
        <translation>打开项目(&amp;O)...</translation>
    </message>
    <message>
        <location filename="../actions.py" line="72"/>
        <source>&amp;Import Images...</source>
        <translation>导入图像(&amp;I)...</translation>
    </message>
    <message>
        <location filename="../actions.py" line="74"/>
        <source>&amp;Save</source>
        <translation>保存(&amp;S)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="75"/>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="76"/>
        <source>&amp;Undo</source>
        <translation>撤销(&amp;U)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="77"/>
        <source>&amp;Redo</source>
        <translation>重做(&amp;R)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="81"/>
        <source>&amp;Delete Selected Shapes or Mask Region</source>
        <translation>删除选中的形状或掩膜区域(&amp;D)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="85"/>
        <source>&amp;Keyboard Shortcuts...</source>
        <translation>快捷键设置(&amp;K)...</translation>
    </message>
    <message>
        <location filename="../actions.py" line="86"/>
        <source>&amp;Fit to Window</source>
        <translation>适应窗口(&amp;F)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="90"/>
        <source>&amp;Actual Size (1:1)</source>
        <translation>实际大小 1:1(&amp;A)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="94"/>
        <source>Zoom &amp;In</source>
        <translation>放大(&amp;I)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="95"/>
        <source>Zoom &amp;Out</source>
        <translation>缩小(&amp;O)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="96"/>
        <source>&amp;Next Image</source>
        <translation>下一张(&amp;N)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="98"/>
        <source>&amp;Previous Image</source>
        <translation>上一张(&amp;P)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="103"/>
        <source>&amp;Select and Move</source>
        <translation>选择和移动(&amp;S)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="109"/>
        <source>&amp;Rectangle</source>
        <translation>矩形(&amp;R)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="112"/>
        <source>P&amp;olygon</source>
        <translation>多边形(&amp;O)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="114"/>
        <source>&amp;Brush</source>
        <translation>画笔(&amp;B)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="116"/>
        <source>&amp;Eraser</source>
        <translation>橡皮擦(&amp;E)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="119"/>
        <source>Larger Brush</source>
        <translation>增大画笔</translation>
    </message>
    <message>
        <location filename="../actions.py" line="122"/>
        <source>Smaller Brush</source>
        <translation>减小画笔</translation>
    </message>
    <message>
        <location filename="../actions.py" line="124"/>
        <source>Mark &amp;Good</source>
        <translation>标为良品(&amp;G)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="125"/>
        <source>Mark &amp;NG</source>
        <translation>标为不良(&amp;N)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="127"/>
        <source>Mark &amp;Unlabelled</source>
        <translation>标为未标注(&amp;U)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="130"/>
        <source>&amp;About DefectSeek Studio</source>
        <translation>关于 DefectSeek Studio(&amp;A)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="138"/>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="139"/>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="140"/>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="141"/>
        <source>&amp;Label</source>
        <translation>标注(&amp;L)</translation>
    </message>
    <message>
        <location filename="../actions.py" line="142"/>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
</context>
<context>
    <name>AssistModelSource</name>
    <message>
        <location filename="../pages/label_assist.py" line="62"/>
        <location filename="../pages/label_assist.py" line="89"/>
        <source>No project is open.</source>
        <translation>没有打开的项目。</translation>
    </message>
    <message>
        <location filename="../pages/label_assist.py" line="74"/>
        <source>No trained model. Train one on the Train page, or choose a model folder.</source>
        <translation>没有已训练的模型。请在“训练”页训练一个模型，或选择模型文件夹。</translation>
    </message>
    <message>
        <location filename="../pages/label_assist.py" line="89"/>
        <source>Create or open a project first.</source>
        <translation>请先创建或打开一个项目。</translation>
    </message>
    <message>
        <location filename="../pages/label_assist.py" line="93"/>
        <source>Choose Model Folder</source>
        <translation>选择模型文件夹</translation>
    </message>
    <message>
        <location filename="../pages/label_assist.py" line="99"/>
        <source>{0} is not a model folder: it has no manifest.json.</source>
        <translation>{0} 不是模型文件夹：其中没有 manifest.json。</translation>
    </message>
    <message>
        <location filename="../pages/label_assist.py" line="102"/>
        <source>Choose a folder written by training (on the Train page it is &lt;project&gt;/models/model-...), or train a model on the Train page.</source>
        <translation>请选择训练写出的文件夹（在“训练”页训练的模型位于 &lt;项目&gt;/models/model-...），或在“训练”页训练一个模型。</translation>
    </message>
    <message>
        <location filename="../pages/label_assist.py" line="116"/>
        <source>The model folder {0} cannot be used.</source>
        <translation>无法使用模型文件夹 {0}。</translation>
    </message>
    <message>
        <location filename="../pages/label_assist.py" line="118"/>
        <source>Train a new model on the Train page, or choose another model folder.</source>
        <translation>请在“训练”页训练新模型，或选择其他模型文件夹。</translation>
    </message>
    <message>
        <location filename="../pages/label_assist.py" line="122"/>
        <source>The model could not read the image {0}.</source>
        <translation>模型无法读取图像 {0}。</translation>
    </message>
    <message>
        <location filename="../pages/label_assist.py" line="124"/>
        <source>Check that the file is a readable image; if it was replaced, restore it or re-import it.</source>
        <translation>请检查该文件是否为可读取的图像；如果文件被替换，请恢复原文件或重新导入。</translation>
    </message>
    <message>
        <location filename="../pages/label_assist.py" line="128"/>
        <source>No inference engine can run the model {0}.</source>
        <translation>没有可以运行模型 {0} 的推理引擎。</translation>
    </message>
    <message>
        <location filename="../pages/label_assist.py" line="130"/>
        <source>Install onnxruntime or openvino in the studio&apos;s Python environment.</source>
        <translation>请在工作室的 Python 环境中安装 onnxruntime 或 openvino。</translation>
    </message>
    <message>
        <location filename="../pages/label_assist.py" line="133"/>
        <source>Proposing a mask failed for {0}.</source>
        <translation>为 {0} 建议掩膜失败。</translation>
    </message>
</context>
<context>
    <name>AssistPanel</name>
    <message>
        <location filename="../widgets/assist_panel.py" line="83"/>
        <source>Model Assist</source>
        <translation>模型辅助标注</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="104"/>
        <source>Choose Model Folder...</source>
        <translation>选择模型文件夹...</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="106"/>
        <source>Propose Mask</source>
        <translation>生成建议掩膜</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="118"/>
        <source> px</source>
        <translation> 像素</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="122"/>
        <source>Accept</source>
        <translation>接受</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="124"/>
        <source>Reject</source>
        <translation>拒绝</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="131"/>
        <source>Model:</source>
        <translation>模型：</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="134"/>
        <source>Threshold:</source>
        <translation>阈值：</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="136"/>
        <source>Minimum area:</source>
        <translation>最小面积：</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="168"/>
        <source>(no trained model)</source>
        <translation>（没有已训练的模型）</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="205"/>
        <source>Running the model on {0}...</source>
        <translation>正在对 {0} 运行模型...</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="227"/>
        <source>The model returned no anomaly map for this image.</source>
        <translation>模型没有为这张图像返回异常图。</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="282"/>
        <source>{0:.4g} (model threshold {1:.4g})</source>
        <translation>{0:.4g}（模型阈值 {1:.4g}）</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="285"/>
        <source>{0} regions, {1} pixels</source>
        <translation>{0} 个区域，{1} 个像素</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="308"/>
        <source>No trained model. Train one on the Train page, or choose a model folder.</source>
        <translation>没有已训练的模型。请在“训练”页训练一个模型，或选择模型文件夹。</translation>
    </message>
    <message>
        <location filename="../widgets/assist_panel.py" line="311"/>
        <source>Run the model on this image and show the proposed defect regions.</source>
        <translation>对当前图像运行模型并显示建议的缺陷区域。</translation>
    </message>
</context>
<context>
    <name>CanvasCommands</name>
    <message>
        <location filename="../canvas/commands.py" line="17"/>
        <source>Add rectangle</source>
        <translation>添加矩形</translation>
    </message>
    <message>
        <location filename="../canvas/commands.py" line="19"/>
        <source>Add polygon</source>
        <translation>添加多边形</translation>
    </message>
    <message>
        <location filename="../canvas/commands.py" line="35"/>
        <source>Delete shapes</source>
        <translation>删除形状</translation>
    </message>
    <message>
        <location filename="../canvas/commands.py" line="52"/>
        <source>Move shapes</source>
        <translation>移动形状</translation>
    </message>
    <message>
        <location filename="../canvas/commands.py" line="73"/>
        <location filename="../canvas/commands.py" line="207"/>
        <source>Set defect type</source>
        <translation>设置缺陷类型</translation>
    </message>
    <message>
        <location filename="../canvas/commands.py" line="190"/>
        <source>Delete mask regions</source>
        <translation>删除掩膜区域</translation>
    </message>
    <message>
        <location filename="../canvas/commands.py" line="224"/>
        <source>Set verdict</source>
        <translation>设置判定</translation>
    </message>
</context>
<context>
    <name>CanvasTools</name>
    <message>
        <location filename="../canvas/tools.py" line="216"/>
        <source>A polygon needs at least 3 points; it was discarded.</source>
        <translation>多边形至少需要 3 个点，已放弃。</translation>
    </message>
    <message>
        <location filename="../canvas/tools.py" line="306"/>
        <source>Erase mask</source>
        <translation>擦除掩膜</translation>
    </message>
    <message>
        <location filename="../canvas/tools.py" line="308"/>
        <source>Paint mask</source>
        <translation>绘制掩膜</translation>
    </message>
    <message>
        <location filename="../canvas/tools.py" line="343"/>
        <source>Paint new mask region</source>
        <translation>绘制新的掩膜区域</translation>
    </message>
</context>
<context>
    <name>DeployPage</name>
    <message>
        <location filename="../pages/deploy_page.py" line="119"/>
        <source>Build a bundle</source>
        <translation>生成部署包</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="125"/>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="125"/>
        <source>NVIDIA GPU</source>
        <translation>NVIDIA GPU</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="125"/>
        <source>AMD GPU</source>
        <translation>AMD GPU</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="134"/>
        <source>FP32 (exact)</source>
        <translation>FP32（精确）</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="134"/>
        <source>FP16</source>
        <translation>FP16</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="134"/>
        <source>INT8 (fastest, checked by the accuracy guard)</source>
        <translation>INT8（最快，经精度守卫检查）</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="138"/>
        <source>Build Bundle</source>
        <translation>生成部署包</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="149"/>
        <source>Trained model:</source>
        <translation>已训练模型：</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="150"/>
        <source>Targets:</source>
        <translation>目标平台：</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="151"/>
        <source>Precision:</source>
        <translation>精度：</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="159"/>
        <source>Target</source>
        <translation>目标平台</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="159"/>
        <source>Precision</source>
        <translation>精度</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="159"/>
        <source>Accuracy guard</source>
        <translation>精度守卫</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="159"/>
        <source>Time per image</source>
        <translation>单张耗时</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="160"/>
        <source>Runs on</source>
        <translation>运行于</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="160"/>
        <source>Bundle</source>
        <translation>部署包</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="166"/>
        <source>Ship a bundle</source>
        <translation>发布部署包</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="169"/>
        <source>As one .zip file</source>
        <translation>打包为单个 .zip 文件</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="170"/>
        <source>Save to Folder or USB Stick...</source>
        <translation>保存到文件夹或U盘...</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="186"/>
        <source>Add Station</source>
        <translation>添加工位</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="188"/>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="192"/>
        <source>Host:</source>
        <translation>主机：</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="194"/>
        <source>Port:</source>
        <translation>端口：</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="201"/>
        <source>the station&apos;s deploy token (not stored)</source>
        <translation>工位的部署令牌（不保存）</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="202"/>
        <source>Send to Checked Stations</source>
        <translation>发送到勾选的工位</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="205"/>
        <source>Check Status</source>
        <translation>查询状态</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="214"/>
        <source>Bundle:</source>
        <translation>部署包：</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="216"/>
        <source>Line stations:</source>
        <translation>产线工位：</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="218"/>
        <source>Token:</source>
        <translation>令牌：</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="239"/>
        <source>No trained model.</source>
        <translation>没有已训练的模型。</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="239"/>
        <source>Train a model on the Train page first.</source>
        <translation>请先在“训练”页训练模型。</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="242"/>
        <source>No target chosen.</source>
        <translation>未选择目标平台。</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="242"/>
        <source>Tick CPU, NVIDIA GPU or AMD GPU.</source>
        <translation>请勾选 CPU、NVIDIA GPU 或 AMD GPU。</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="259"/>
        <source>Building...</source>
        <translation>正在生成...</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="280"/>
        <source>Building the bundle failed.</source>
        <translation>生成部署包失败。</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="280"/>
        <source>Check the chosen targets and precision.</source>
        <translation>请检查所选的目标平台和精度。</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="290"/>
        <source>not built: {0}</source>
        <translation>未生成：{0}</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="292"/>
        <source>rejected: {0}</source>
        <translation>被拒绝：{0}</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="294"/>
        <source>passed ({0})</source>
        <translation>通过（{0}）</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="297"/>
        <source>{0:.1f} ms</source>
        <translation>{0:.1f} 毫秒</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="297"/>
        <source>not measured here</source>
        <translation>本机无法测量</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="307"/>
        <source>{0} of {1} bundles built.</source>
        <translation>已生成 {0}/{1} 个部署包。</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="311"/>
        <source>fp32 copy of the trained model, nothing to check</source>
        <translation>训练模型的 FP32 副本，无需检查</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="314"/>
        <source>{0}: {1:.1%} same verdicts on {2} images</source>
        <translation>{0}：{2} 张图像中 {1:.1%} 判定一致</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="318"/>
        <source>, AUROC {0:+.2f} points below fp32</source>
        <translation>，AUROC 比 FP32 低 {0:+.2f} 个百分点</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="320"/>
        <source>no validation images, so the guard did not run</source>
        <translation>没有验证图像，精度守卫未运行</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="326"/>
        <source>No bundle to save.</source>
        <translation>没有可保存的部署包。</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="326"/>
        <source>Build a bundle first.</source>
        <translation>请先生成部署包。</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="330"/>
        <source>Saving the bundle...</source>
        <translation>正在保存部署包...</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="339"/>
        <source>Nothing to send.</source>
        <translation>没有可发送的内容。</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="339"/>
        <source>Build a bundle and add and tick at least one line station.</source>
        <translation>请生成部署包，并添加和勾选至少一个产线工位。</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="344"/>
        <source>Sending the bundle...</source>
        <translation>正在发送部署包...</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="351"/>
        <source>No line station checked.</source>
        <translation>未勾选产线工位。</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="351"/>
        <source>Add and tick a line station.</source>
        <translation>请添加并勾选产线工位。</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="355"/>
        <source>Asking the stations...</source>
        <translation>正在查询工位...</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="369"/>
        <source>Saving or sending the bundle failed.</source>
        <translation>保存或发送部署包失败。</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="370"/>
        <source>Check the destination folder or the station address and token.</source>
        <translation>请检查目标文件夹，或工位地址和令牌。</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="373"/>
        <source>Bundle saved: {0}</source>
        <translation>部署包已保存：{0}</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="376"/>
        <source>{0}: running {1}</source>
        <translation>{0}：正在运行 {1}</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="376"/>
        <source>no bundle</source>
        <translation>无部署包</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="383"/>
        <source>{0}: installed {1}</source>
        <translation>{0}：已安装 {1}</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="377"/>
        <location filename="../pages/deploy_page.py" line="384"/>
        <source>{0}: failed: {1}</source>
        <translation>{0}：失败：{1}</translation>
    </message>
    <message>
        <location filename="../pages/deploy_page.py" line="414"/>
        <source>Choose the Folder or USB Stick</source>
        <translation>选择文件夹或U盘</translation>
    </message>
</context>
<context>
    <name>ErrorPresenter</name>
    <message>
        <location filename="../errors.py" line="44"/>
        <source>Details were written to the log file: {0}</source>
        <translation>详细信息已写入日志文件：{0}</translation>
    </message>
    <message>
        <location filename="../errors.py" line="49"/>
        <source>DefectSeek Studio</source>
        <translation>DefectSeek Studio</translation>
    </message>
    <message>
        <location filename="../errors.py" line="62"/>
        <source>An unexpected error occurred; the last action may not have finished.</source>
        <translation>发生意外错误，上一个操作可能没有完成。</translation>
    </message>
</context>
<context>
    <name>EvaluatePage</name>
    <message>
        <location filename="../pages/evaluate_page.py" line="100"/>
        <source>Test split</source>
        <translation>测试集</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="101"/>
        <source>Validation split</source>
        <translation>验证集</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="102"/>
        <source>All labelled images</source>
        <translation>全部已标注图像</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="110"/>
        <source>Evaluate</source>
        <translation>评估</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="113"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="121"/>
        <source>Export HTML...</source>
        <translation>导出 HTML...</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="123"/>
        <source>Export PDF...</source>
        <translation>导出 PDF...</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="129"/>
        <source>Model:</source>
        <translation>模型：</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="131"/>
        <source>Images:</source>
        <translation>图像：</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="141"/>
        <source>Metrics</source>
        <translation>指标</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="146"/>
        <source>Images (good / NG):</source>
        <translation>图像（良品/不良）：</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="147"/>
        <source>Image AUROC:</source>
        <translation>图像 AUROC：</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="148"/>
        <source>Pixel AUROC:</source>
        <translation>像素 AUROC：</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="149"/>
        <source>AUPRO (FPR &lt; 0.3):</source>
        <translation>AUPRO（FPR &lt; 0.3）：</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="150"/>
        <source>Time per image:</source>
        <translation>单张耗时：</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="162"/>
        <source>Sensitivity:</source>
        <translation>灵敏度：</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="164"/>
        <source>Threshold:</source>
        <translation>阈值：</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="165"/>
        <source>False reject (overkill):</source>
        <translation>误判（过杀）：</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="166"/>
        <source>Miss (escape):</source>
        <translation>漏检（漏杀）：</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="172"/>
        <source>Back to the model&apos;s threshold</source>
        <translation>恢复模型阈值</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="180"/>
        <source>ROC curve (image scores)</source>
        <translation>ROC 曲线（图像分数）</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="181"/>
        <source>False-positive rate (good judged NG)</source>
        <translation>假阳性率（良品判为不良）</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="182"/>
        <source>True-positive rate</source>
        <translation>真阳性率</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="184"/>
        <source>Scores: good (green), NG (red), threshold (dashed)</source>
        <translation>分数：良品（绿）、不良（红）、阈值（虚线）</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="185"/>
        <source>Anomaly score</source>
        <translation>异常分数</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="186"/>
        <location filename="../pages/evaluate_page.py" line="427"/>
        <source>Images</source>
        <translation>图像</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="196"/>
        <source>Defect types: true type (rows) against the type given (columns)</source>
        <translation>缺陷类型：真实类型（行）与判定类型（列）</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="206"/>
        <source>Worst cases</source>
        <translation>最差样本</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="211"/>
        <source>Highest-scoring good images (overkill risk)</source>
        <translation>分数最高的良品（过杀风险）</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="212"/>
        <source>Lowest-scoring NG images (escape risk)</source>
        <translation>分数最低的不良品（漏杀风险）</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="233"/>
        <source>No model to evaluate.</source>
        <translation>没有可评估的模型。</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="233"/>
        <source>Open a project and train a model on the Train page.</source>
        <translation>请打开项目并在“训练”页训练模型。</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="239"/>
        <source>The chosen split has no images labelled good or NG.</source>
        <translation>所选数据集划分中没有标为良品或不良的图像。</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="241"/>
        <source>Label images in the Label page, or choose another split.</source>
        <translation>请在“标注”页标注图像，或选择其他划分。</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="252"/>
        <source>Evaluating {0} images...</source>
        <translation>正在评估 {0} 张图像...</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="260"/>
        <source>Cancelling...</source>
        <translation>正在取消...</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="290"/>
        <location filename="../pages/evaluate_page.py" line="293"/>
        <source>Evaluation failed.</source>
        <translation>评估失败。</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="295"/>
        <source>Check that the model folder is complete (train it again if needed).</source>
        <translation>请检查模型文件夹是否完整（必要时重新训练）。</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="299"/>
        <source>Evaluation was cancelled; no results are shown.</source>
        <translation>评估已取消，不显示任何结果。</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="310"/>
        <location filename="../pages/evaluate_page.py" line="437"/>
        <source>n/a</source>
        <translation>无</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="311"/>
        <source>{0:.1f} ms ({1})</source>
        <translation>{0:.1f} 毫秒（{1}）</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="344"/>
        <source>{0:.1%} ({1} of {2} good)</source>
        <translation>{0:.1%}（{2} 张良品中 {1} 张）</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="347"/>
        <source>{0:.1%} ({1} of {2} NG)</source>
        <translation>{0:.1%}（{2} 张不良品中 {1} 张）</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="372"/>
        <source>(no type)</source>
        <translation>（无类型）</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="418"/>
        <location filename="../pages/evaluate_page.py" line="424"/>
        <source>Evaluation report</source>
        <translation>评估报告</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="425"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="426"/>
        <source>Engine</source>
        <translation>推理引擎</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="428"/>
        <source>Image AUROC</source>
        <translation>图像 AUROC</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="429"/>
        <source>Pixel AUROC</source>
        <translation>像素 AUROC</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="430"/>
        <source>AUPRO (FPR &lt; 0.3)</source>
        <translation>AUPRO（FPR &lt; 0.3）</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="431"/>
        <source>Threshold</source>
        <translation>阈值</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="432"/>
        <source>False reject (overkill) rate</source>
        <translation>误判（过杀）率</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="433"/>
        <source>Miss (escape) rate</source>
        <translation>漏检（漏杀）率</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="434"/>
        <source>Charts</source>
        <translation>图表</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="435"/>
        <source>Highest-scoring good images</source>
        <translation>分数最高的良品</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="436"/>
        <source>Lowest-scoring NG images</source>
        <translation>分数最低的不良品</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="441"/>
        <source>Export HTML Report</source>
        <translation>导出 HTML 报告</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="441"/>
        <source>HTML files (*.html)</source>
        <translation>HTML 文件 (*.html)</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="446"/>
        <source>Export PDF Report</source>
        <translation>导出 PDF 报告</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="446"/>
        <source>PDF files (*.pdf)</source>
        <translation>PDF 文件 (*.pdf)</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="455"/>
        <source>Could not write the report to {0}.</source>
        <translation>无法将报告写入 {0}。</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="456"/>
        <source>Choose a folder you can write to.</source>
        <translation>请选择有写入权限的文件夹。</translation>
    </message>
    <message>
        <location filename="../pages/evaluate_page.py" line="459"/>
        <source>Report written: {0}</source>
        <translation>报告已写入：{0}</translation>
    </message>
</context>
<context>
    <name>ImageBrowser</name>
    <message>
        <location filename="../widgets/image_browser.py" line="139"/>
        <source>{0} of {1} images</source>
        <translation>显示 {0} / 共 {1} 张图像</translation>
    </message>
    <message>
        <location filename="../widgets/image_browser.py" line="217"/>
        <source>All images ({0})</source>
        <translation>全部图像 ({0})</translation>
    </message>
    <message>
        <location filename="../widgets/image_browser.py" line="218"/>
        <source>Unlabelled ({0})</source>
        <translation>未标注 ({0})</translation>
    </message>
    <message>
        <location filename="../widgets/image_browser.py" line="219"/>
        <source>Good ({0})</source>
        <translation>良品 ({0})</translation>
    </message>
    <message>
        <location filename="../widgets/image_browser.py" line="220"/>
        <source>NG ({0})</source>
        <translation>不良 ({0})</translation>
    </message>
    <message>
        <location filename="../widgets/image_browser.py" line="222"/>
        <source>Type: {0} ({1})</source>
        <translation>类型：{0} ({1})</translation>
    </message>
    <message>
        <location filename="../widgets/image_browser.py" line="228"/>
        <source>All splits</source>
        <translation>全部数据集划分</translation>
    </message>
</context>
<context>
    <name>InspectPage</name>
    <message>
        <location filename="../pages/inspect_page.py" line="81"/>
        <source>Source</source>
        <translation>图像来源</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="84"/>
        <source>Other Bundle...</source>
        <translation>其他部署包...</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="91"/>
        <source>Folder:</source>
        <translation>文件夹：</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="92"/>
        <source>Camera (OpenCV index, video file or stream URL):</source>
        <translation>相机（OpenCV 编号、视频文件或视频流地址）：</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="99"/>
        <source>Browse...</source>
        <translation>浏览...</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="107"/>
        <source>Start</source>
        <translation>开始</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="110"/>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="120"/>
        <source>Bundle:</source>
        <translation>部署包：</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="127"/>
        <source>Counters</source>
        <translation>计数</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="136"/>
        <source>Image:</source>
        <translation>图像：</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="137"/>
        <source>Score (0.5 = threshold):</source>
        <translation>分数（0.5 = 阈值）：</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="138"/>
        <source>OK:</source>
        <translation>良品：</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="139"/>
        <source>NG:</source>
        <translation>不良：</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="140"/>
        <source>Unreadable:</source>
        <translation>无法读取：</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="141"/>
        <source>Throughput:</source>
        <translation>吞吐量：</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="142"/>
        <source>Latency (mean / max):</source>
        <translation>延迟（平均/最大）：</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="151"/>
        <source>Recent NG</source>
        <translation>最近的不良品</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="195"/>
        <source>No bundle chosen.</source>
        <translation>未选择部署包。</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="195"/>
        <source>Build a bundle on the Deploy page.</source>
        <translation>请在“部署”页生成部署包。</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="201"/>
        <source>The folder {0} does not exist.</source>
        <translation>文件夹 {0} 不存在。</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="201"/>
        <source>Choose a folder of images.</source>
        <translation>请选择图像文件夹。</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="242"/>
        <source>Inspection stopped with an error.</source>
        <translation>检测因错误而停止。</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="244"/>
        <source>Check the bundle and the image source.</source>
        <translation>请检查部署包和图像来源。</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="248"/>
        <source>Inspection finished: {0} images.</source>
        <translation>检测完成：{0} 张图像。</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="279"/>
        <source>{0:.1f} images/s</source>
        <translation>{0:.1f} 张/秒</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="281"/>
        <source>{0:.1f} / {1:.1f} ms</source>
        <translation>{0:.1f} / {1:.1f} 毫秒</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="285"/>
        <source>Choose a Bundle Folder</source>
        <translation>选择部署包文件夹</translation>
    </message>
    <message>
        <location filename="../pages/inspect_page.py" line="290"/>
        <source>Choose a Folder of Images</source>
        <translation>选择图像文件夹</translation>
    </message>
</context>
<context>
    <name>LabelPage</name>
    <message>
        <location filename="../pages/label_page.py" line="93"/>
        <source>Could not open image {0}.</source>
        <translation>无法打开图像 {0}。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="97"/>
        <source>The label of {0} is for a {1}x{2} image, but the image file is {3}x{4}.</source>
        <translation>{0} 的标注对应 {1}x{2} 的图像，但图像文件是 {3}x{4}。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="101"/>
        <source>The image file was replaced; restore the original file or remove and re-import the image.</source>
        <translation>图像文件已被替换。请恢复原文件，或者删除该图像后重新导入。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="119"/>
        <source>The label of {0} was not saved because it changed on disk.</source>
        <translation>{0} 的标注未保存，因为磁盘上的文件已被修改。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="121"/>
        <source>Copy your changes, reopen the image to load the other version, and apply them again.</source>
        <translation>请记下您的修改，重新打开图像以加载另一版本，然后再次应用修改。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="125"/>
        <source>Could not save the label of {0}.</source>
        <translation>无法保存 {0} 的标注。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="129"/>
        <source>Saved {0}</source>
        <translation>已保存 {0}</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="174"/>
        <source>Unsaved Changes</source>
        <translation>未保存的修改</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="175"/>
        <source>The label of {0} could not be saved. Close anyway and lose the changes?</source>
        <translation>{0} 的标注无法保存。仍然关闭并放弃这些修改吗？</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="321"/>
        <source>This is the last image of the list.</source>
        <translation>已经是列表中的最后一张图像。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="323"/>
        <source>This is the first image of the list.</source>
        <translation>已经是列表中的第一张图像。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="344"/>
        <source>The project has no defect type {0}.</source>
        <translation>项目中没有第 {0} 个缺陷类型。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="357"/>
        <source>Set defect type</source>
        <translation>设置缺陷类型</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="378"/>
        <source>Accept proposal</source>
        <translation>接受建议</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="392"/>
        <source>Added {0} mask regions from the proposal; select one to edit it with the brush.</source>
        <translation>已从建议中添加 {0} 个掩膜区域；选中其中一个即可用画笔编辑。</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="425"/>
        <source>{0} ({1}x{2}, {3}-bit)</source>
        <translation>{0}（{1}x{2}，{3} 位）</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="429"/>
        <source>zoom {0:.0f}%</source>
        <translation>缩放 {0:.0f}%</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="433"/>
        <source>x {0}, y {1}: {2}</source>
        <translation>x {0}，y {1}：{2}</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="435"/>
        <source>unsaved changes</source>
        <translation>有未保存的修改</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="461"/>
        <source>Defect Type {0}: {1}</source>
        <translation>缺陷类型 {0}：{1}</translation>
    </message>
    <message>
        <location filename="../pages/label_page.py" line="463"/>
        <source>Defect Type {0}</source>
        <translation>缺陷类型 {0}</translation>
    </message>
</context>
<context>
    <name>LabelPanel</name>
    <message>
        <location filename="../widgets/label_panel.py" line="59"/>
        <source>Unlabelled</source>
        <translation>未标注</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="60"/>
        <source>Good</source>
        <translation>良品</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="61"/>
        <source>NG</source>
        <translation>不良</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="82"/>
        <source>Image</source>
        <translation>图像</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="85"/>
        <source>Defect type:</source>
        <translation>缺陷类型：</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="86"/>
        <source>Split:</source>
        <translation>数据集划分：</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="94"/>
        <source> px</source>
        <translation> 像素</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="100"/>
        <source>Drawing</source>
        <translation>绘制</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="102"/>
        <source>Brush size:</source>
        <translation>画笔大小：</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="103"/>
        <source>Mask opacity:</source>
        <translation>掩膜不透明度：</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="44"/>
        <source>Display</source>
        <translation>显示</translation>
    </message>
    <message>
        <location filename="../widgets/label_panel.py" line="123"/>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../main_window.py" line="44"/>
        <location filename="../main_window.py" line="123"/>
        <source>DefectSeek Studio</source>
        <translation>DefectSeek Studio</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="122"/>
        <source>No project open</source>
        <translation>未打开项目</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="125"/>
        <source>Project: {0}</source>
        <translation>项目：{0}</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="126"/>
        <source>{0} - DefectSeek Studio</source>
        <translation>{0} - DefectSeek Studio</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="144"/>
        <source>About DefectSeek Studio</source>
        <translation>关于 DefectSeek Studio</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="145"/>
        <source>DefectSeek Studio: label images, train from good images, and inspect parts on the line.</source>
        <translation>DefectSeek Studio：标注图像，用良品图像训练模型，并在产线上检测零件。</translation>
    </message>
</context>
<context>
    <name>MaskRegionList</name>
    <message>
        <location filename="../widgets/mask_list.py" line="29"/>
        <source>Mask Regions</source>
        <translation>掩膜区域</translation>
    </message>
    <message>
        <location filename="../widgets/mask_list.py" line="34"/>
        <source>New Region</source>
        <translation>新建区域</translation>
    </message>
    <message>
        <location filename="../widgets/mask_list.py" line="36"/>
        <source>The next brush stroke starts a new mask region of the chosen defect type.</source>
        <translation>下一笔画笔将以所选缺陷类型开始一个新的掩膜区域。</translation>
    </message>
    <message>
        <location filename="../widgets/mask_list.py" line="37"/>
        <source>Delete Region</source>
        <translation>删除区域</translation>
    </message>
    <message>
        <location filename="../widgets/mask_list.py" line="108"/>
        <source>(no type)</source>
        <translation>（无类型）</translation>
    </message>
    <message>
        <location filename="../widgets/mask_list.py" line="109"/>
        <source>{0}: {1}, {2} px</source>
        <translation>{0}：{1}，{2} 像素</translation>
    </message>
    <message>
        <location filename="../widgets/mask_list.py" line="111"/>
        <source>(model proposal)</source>
        <translation>（模型建议）</translation>
    </message>
</context>
<context>
    <name>NewProjectDialog</name>
    <message>
        <location filename="../pages/project_page.py" line="42"/>
        <source>New Project</source>
        <translation>新建项目</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="44"/>
        <source>Browse...</source>
        <translation>浏览...</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="51"/>
        <source>scratch, dent, stain</source>
        <translation>划痕, 凹坑, 污渍</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="53"/>
        <source>Folder:</source>
        <translation>文件夹：</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="54"/>
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="55"/>
        <source>Defect types (comma-separated):</source>
        <translation>缺陷类型（用逗号分隔）：</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="67"/>
        <source>Choose an empty folder for the project</source>
        <translation>为项目选择一个空文件夹</translation>
    </message>
</context>
<context>
    <name>Pages</name>
    <message>
        <location filename="../pages/__init__.py" line="63"/>
        <source>Project</source>
        <translation>项目</translation>
    </message>
    <message>
        <location filename="../pages/__init__.py" line="65"/>
        <source>Label</source>
        <translation>标注</translation>
    </message>
    <message>
        <location filename="../pages/workflow_registry.py" line="42"/>
        <source>Train</source>
        <translation>训练</translation>
    </message>
    <message>
        <location filename="../pages/workflow_registry.py" line="43"/>
        <source>Evaluate</source>
        <translation>评估</translation>
    </message>
    <message>
        <location filename="../pages/workflow_registry.py" line="44"/>
        <source>Deploy</source>
        <translation>部署</translation>
    </message>
    <message>
        <location filename="../pages/workflow_registry.py" line="45"/>
        <source>Inspect</source>
        <translation>检测</translation>
    </message>
</context>
<context>
    <name>ProjectPage</name>
    <message>
        <location filename="../pages/project_page.py" line="87"/>
        <source>Group</source>
        <translation>分组</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="87"/>
        <source>Images</source>
        <translation>图像数</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="93"/>
        <source>Import Dataset...</source>
        <translation>导入数据集...</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="94"/>
        <source>An MVTec AD folder (train/, test/, ground_truth/) or a folder of labelme JSON files</source>
        <translation>MVTec AD 文件夹（train/、test/、ground_truth/）或 labelme JSON 文件夹</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="99"/>
        <source>Drop image folders, MVTec AD folders or labelme files here to import them.</source>
        <translation>将图像文件夹、MVTec AD 文件夹或 labelme 文件拖放到此处即可导入。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="121"/>
        <source>Could not create the project in {0}.</source>
        <translation>无法在 {0} 中创建项目。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="134"/>
        <source>Could not open the project in {0}.</source>
        <translation>无法打开 {0} 中的项目。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="136"/>
        <source>Choose a folder that contains project.json, or create a new project.</source>
        <translation>请选择包含 project.json 的文件夹，或者新建一个项目。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="145"/>
        <location filename="../pages/project_page.py" line="162"/>
        <location filename="../pages/project_page.py" line="188"/>
        <location filename="../pages/project_page.py" line="243"/>
        <source>No project is open.</source>
        <translation>没有打开的项目。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="145"/>
        <location filename="../pages/project_page.py" line="162"/>
        <location filename="../pages/project_page.py" line="188"/>
        <location filename="../pages/project_page.py" line="243"/>
        <source>Create or open a project first.</source>
        <translation>请先新建或打开一个项目。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="150"/>
        <source>Could not import the images.</source>
        <translation>无法导入图像。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="152"/>
        <location filename="../pages/project_page.py" line="170"/>
        <source>Imported {0} images; skipped {1}.</source>
        <translation>已导入 {0} 张图像，跳过 {1} 张。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="167"/>
        <source>Could not import {0}.</source>
        <translation>无法导入 {0}。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="190"/>
        <source>Choose an MVTec AD or labelme Folder</source>
        <translation>选择 MVTec AD 或 labelme 文件夹</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="199"/>
        <source>No project is open. Create a new project or open an existing one.</source>
        <translation>没有打开的项目。请新建项目或打开已有项目。</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="203"/>
        <source>Project: {0}</source>
        <translation>项目：{0}</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="204"/>
        <source>Folder: {0}</source>
        <translation>文件夹：{0}</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="205"/>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="206"/>
        <source>Defect types: {0}</source>
        <translation>缺陷类型：{0}</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="210"/>
        <source>All images</source>
        <translation>全部图像</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="212"/>
        <source>By verdict</source>
        <translation>按判定</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="214"/>
        <source>Unlabelled</source>
        <translation>未标注</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="215"/>
        <source>Good</source>
        <translation>良品</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="216"/>
        <source>NG</source>
        <translation>不良</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="219"/>
        <source>By defect type</source>
        <translation>按缺陷类型</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="222"/>
        <source>By split</source>
        <translation>按数据集划分</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="237"/>
        <source>Open Project Folder</source>
        <translation>打开项目文件夹</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="245"/>
        <source>Choose a Folder of Images</source>
        <translation>选择图像文件夹</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="250"/>
        <source>Import Images</source>
        <translation>导入图像</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="251"/>
        <source>Copy the images into the project folder? Choose No to reference them where they are.</source>
        <translation>是否将图像复制到项目文件夹中？选择“否”则在原位置引用图像。</translation>
    </message>
</context>
<context>
    <name>ShortcutDialog</name>
    <message>
        <location filename="../shortcut_dialog.py" line="24"/>
        <source>Keyboard Shortcuts</source>
        <translation>快捷键设置</translation>
    </message>
    <message>
        <location filename="../shortcut_dialog.py" line="28"/>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <location filename="../shortcut_dialog.py" line="28"/>
        <source>Shortcut</source>
        <translation>快捷键</translation>
    </message>
</context>
<context>
    <name>Splits</name>
    <message>
        <location filename="../pages/project_page.py" line="259"/>
        <source>No split</source>
        <translation>未划分</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="260"/>
        <source>Train</source>
        <translation>训练集</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="261"/>
        <source>Validation</source>
        <translation>验证集</translation>
    </message>
    <message>
        <location filename="../pages/project_page.py" line="262"/>
        <source>Test</source>
        <translation>测试集</translation>
    </message>
</context>
<context>
    <name>TrainPage</name>
    <message>
        <location filename="../pages/train_page.py" line="99"/>
        <source>Good images</source>
        <translation>良品图像</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="102"/>
        <source>Train on all good images</source>
        <translation>使用全部良品图像训练</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="103"/>
        <source>Train on k images picked to cover every kind of good part (few-shot):</source>
        <translation>挑选 k 张覆盖各类良品的图像训练（小样本）：</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="124"/>
        <source>Defect examples</source>
        <translation>缺陷样本</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="127"/>
        <source>Use the labelled NG images (outside the test split) to set the threshold</source>
        <translation>用已标注的不良图像（测试集以外）确定阈值</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="281"/>
        <source>Defect-type classification is not available in this installation; the model judges OK/NG only.</source>
        <translation>此安装不包含缺陷类型分类；模型只判断良品/不良。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="141"/>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="128"/>
        <source>Teach the defect types from these examples (few-shot classifier)</source>
        <translation>用这些样本学习缺陷类型（小样本分类器）</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="144"/>
        <source>Automatic (from the images)</source>
        <translation>自动（根据图像）</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="155"/>
        <source>Share of good parts that the threshold may send to re-inspection (1 %: one good part in a hundred). A lower rate rejects fewer good parts but raises the threshold, so more defects pass as OK. The threshold comes from the good training images; labelled NG images replace it when they are used to set the threshold.</source>
        <translation>阈值允许送去复检的良品比例（1 %：每一百个良品中有一个）。比例越低，误判的良品越少，但阈值越高，漏过的缺陷也越多。阈值由良品训练图像确定；若用已标注的不良图像确定阈值，则以不良图像为准。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="163"/>
        <source>Model input size (pixels):</source>
        <translation>模型输入尺寸（像素）：</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="164"/>
        <source>Feature extractor:</source>
        <translation>特征提取网络：</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="165"/>
        <source>Accepted false-reject rate:</source>
        <translation>可接受的误判率：</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="169"/>
        <source>Advanced</source>
        <translation>高级</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="179"/>
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="179"/>
        <source>Stretch whole image</source>
        <translation>拉伸整幅图像</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="179"/>
        <source>Tiles (keep aspect ratio)</source>
        <translation>分块（保持宽高比）</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="184"/>
        <source>Use the margin rule instead of the false-reject rate</source>
        <translation>改用余量规则，不用误判率</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="188"/>
        <source>Older rule: threshold = highest good training score plus the margin times the spread of the good scores, widened when there are fewer than 20 images. One unusual training image raises it as far as that image scores.</source>
        <translation>旧规则：阈值 = 良品训练图像的最高分数 + 余量 × 良品分数的离散度（图像少于 20 张时放宽）。一张异常的训练图像会把阈值抬高到它自己的分数之上。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="206"/>
        <source>Resize rule:</source>
        <translation>缩放方式：</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="207"/>
        <source>Memory bank fraction (coreset ratio):</source>
        <translation>记忆库比例（核心集比例）：</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="209"/>
        <source>Threshold margin (spreads of the good scores):</source>
        <translation>阈值余量（良品分数离散度的倍数）：</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="210"/>
        <source>Memory budget for features:</source>
        <translation>特征内存预算：</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="211"/>
        <source>Random seed:</source>
        <translation>随机种子：</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="219"/>
        <source>Train</source>
        <translation>训练</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="222"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="258"/>
        <location filename="../pages/train_page.py" line="300"/>
        <source>No project is open.</source>
        <translation>没有打开的项目。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="264"/>
        <source>{0} good images in the train split or without a split.</source>
        <translation>训练集或未划分的良品图像共 {0} 张。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="268"/>
        <source>(no type)</source>
        <translation>（无类型）</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="270"/>
        <source>Labelled NG images outside the test split: {0}</source>
        <translation>测试集以外已标注的不良图像：{0}</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="272"/>
        <source>No labelled NG images outside the test split.</source>
        <translation>测试集以外没有已标注的不良图像。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="290"/>
        <source>Examples per defect type: {0}</source>
        <translation>各缺陷类型的样本数：{0}</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="293"/>
        <source>Give NG images outside the test split a defect type to teach the defect-type classifier.</source>
        <translation>为测试集以外的不良图像指定缺陷类型，即可训练缺陷类型分类器。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="300"/>
        <source>Create or open a project first.</source>
        <translation>请先新建或打开项目。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="305"/>
        <source>The project has no good images to train on.</source>
        <translation>项目中没有可用于训练的良品图像。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="307"/>
        <source>Mark images as good in the Label page, or import a dataset with train/good images.</source>
        <translation>请在“标注”页将图像标为良品，或导入含 train/good 图像的数据集。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="350"/>
        <source>Starting the training process...</source>
        <translation>正在启动训练进程...</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="363"/>
        <source>Cancelling...</source>
        <translation>正在取消...</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="377"/>
        <source>Training was cancelled; no model was written.</source>
        <translation>训练已取消，未写入模型。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="380"/>
        <location filename="../pages/train_page.py" line="384"/>
        <source>Training failed.</source>
        <translation>训练失败。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="386"/>
        <source>Check the settings (a smaller input size or memory budget needs less memory) and train again.</source>
        <translation>请检查设置（较小的输入尺寸或内存预算占用更少内存）后重新训练。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="395"/>
        <source>{0}: {1} of {2}</source>
        <translation>{0}：{1}/{2}</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="397"/>
        <source>(about {0} s left in this stage)</source>
        <translation>（本阶段约剩 {0} 秒）</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="403"/>
        <source>Training finished.</source>
        <translation>训练完成。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="405"/>
        <source>Model {0}: {1} images, input {2} x {3}, threshold {4:.4f}, {5:.1f} s.</source>
        <translation>模型 {0}：{1} 张图像，输入 {2} x {3}，阈值 {4:.4f}，用时 {5:.1f} 秒。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="413"/>
        <source>Defect types (examples): {0}</source>
        <translation>缺陷类型（样本数）：{0}</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="420"/>
        <source>Training finished: {0}</source>
        <translation>训练完成：{0}</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="431"/>
        <source>Threshold from {0} good images only, set for an accepted false-reject rate of {1:.1%}.</source>
        <translation>阈值仅由 {0} 张良品图像确定，按可接受的误判率 {1:.1%} 设定。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="435"/>
        <source>Threshold from {0} good images only, by the margin rule (margin {1:.2f}).</source>
        <translation>阈值仅由 {0} 张良品图像按余量规则确定（余量 {1:.2f}）。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="438"/>
        <source>Threshold set between the scores of {0} good images and {1} labelled NG images.</source>
        <translation>阈值设在 {0} 张良品图像与 {1} 张已标注不良图像的分数之间。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="450"/>
        <source>{0} good training image(s) score above the threshold. Check them for defects or unusual parts, then relabel or remove them and train again.</source>
        <translation>有 {0} 张良品训练图像的分数高于阈值。请检查它们是否有缺陷或属于异常零件，然后重新标注或移除，再重新训练。</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="457"/>
        <source>and {0} more</source>
        <translation>等另外 {0} 张</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="458"/>
        <source>Highest first: {0}</source>
        <translation>按分数从高到低：{0}</translation>
    </message>
</context>
<context>
    <name>TrainStages</name>
    <message>
        <location filename="../pages/train_page.py" line="58"/>
        <source>Loading images</source>
        <translation>正在读取图像</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="59"/>
        <source>Picking images that cover every kind of good part</source>
        <translation>正在挑选覆盖各类良品的图像</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="60"/>
        <source>Extracting features</source>
        <translation>正在提取特征</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="61"/>
        <source>Building the memory bank</source>
        <translation>正在构建记忆库</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="62"/>
        <source>Scoring defect examples for the threshold</source>
        <translation>正在为阈值计算缺陷样本分数</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="63"/>
        <source>Writing the model</source>
        <translation>正在写入模型</translation>
    </message>
    <message>
        <location filename="../pages/train_page.py" line="64"/>
        <source>Teaching the defect types</source>
        <translation>正在学习缺陷类型</translation>
    </message>
</context>
<context>
    <name>WindowLevelWidget</name>
    <message>
        <location filename="../widgets/window_level.py" line="27"/>
        <source>Auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../widgets/window_level.py" line="28"/>
        <source>Reset</source>
        <translation>重置</translation>
    </message>
    <message>
        <location filename="../widgets/window_level.py" line="34"/>
        <source>Brightness (level):</source>
        <translation>亮度（窗位）：</translation>
    </message>
    <message>
        <location filename="../widgets/window_level.py" line="35"/>
        <source>Contrast (window):</source>
        <translation>对比度（窗宽）：</translation>
    </message>
</context>
</TS>
